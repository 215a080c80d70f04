import type { CheckName, CheckResult, ClassifiedError, Observed, Status } from '../model/check.ts';
import {
  type CycleMark,
  type CycleStatus,
  type FailureDetail,
  type HistoryView,
  RECENT_CHANGES,
  type RecentChange,
} from '../model/history.ts';

// Strings a failure carries are cut to these sizes in UTF-8 bytes, so what
// the memory holds is bounded by the number of entries, whatever AWS answers.
const MAX_MESSAGE = 1024;
const MAX_VALUE = 256;
const ELLIPSIS = '…';
const ELLIPSIS_BYTES = Buffer.byteLength(ELLIPSIS);

/**
 * At most `maxBytes` of UTF-8, cut on a character boundary (never inside a
 * surrogate pair or a multibyte sequence), with an ellipsis where it was cut.
 */
export function cutUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  const budget = maxBytes - ELLIPSIS_BYTES;
  let used = 0;
  let end = 0;
  // Iterating a string yields whole code points, so a pair is never split.
  for (const ch of s) {
    const size = Buffer.byteLength(ch);
    if (used + size > budget) break;
    used += size;
    end += ch.length;
  }
  return `${s.slice(0, end)}${ELLIPSIS}`;
}

const cutValue = (v: unknown): unknown => (typeof v === 'string' ? cutUtf8(v, MAX_VALUE) : v);

function boundedRecord<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, cutValue(v)])) as T;
}

function boundedObserved(o: Observed): Observed {
  const out: Observed = {};
  for (const [k, v] of Object.entries(o).slice(0, 32))
    out[cutUtf8(k, 64)] = typeof v === 'string' ? cutUtf8(v, MAX_VALUE) : v;
  return out;
}

/** Every string field bounded: the message to MAX_MESSAGE, the rest to MAX_VALUE. */
function boundedError(e: ClassifiedError): ClassifiedError {
  const copy: ClassifiedError = { ...boundedRecord(e), message: cutUtf8(e.message, MAX_MESSAGE) };
  if (e.detail !== undefined) copy.detail = boundedRecord(e.detail);
  if (e.named !== undefined) copy.named = boundedRecord(e.named);
  return copy;
}

function cycleStatusOf(r: CheckResult): CycleStatus {
  return r.reason === 'blocked' ? 'blocked' : r.status;
}

/** The step that set the check's status, as the report would name it first. */
function failureDetailOf(r: CheckResult): FailureDetail | undefined {
  if (r.status === 'pass') return undefined;
  const step =
    r.steps.find((s) => s.error?.reason === r.reason && s.status === r.status) ??
    r.steps.find((s) => s.status === r.status && s.error !== undefined);
  return {
    ...(step === undefined ? {} : { step: step.name }),
    durationMs: Math.round(step?.durationMs ?? r.durationMs),
    ...(step?.error === undefined ? {} : { error: boundedError(step.error) }),
    ...(step === undefined ? {} : { observed: boundedObserved(step.observed) }),
    ...(r.blockedBy === undefined ? {} : { blockedBy: r.blockedBy }),
    ...(r.output === undefined ? {} : { output: cutUtf8(r.output, MAX_MESSAGE) }),
  };
}

/** A fixed-size ring of the last cycles of one check. */
class Ring {
  private readonly slots: (CycleMark | undefined)[];
  private next = 0;
  private size = 0;
  constructor(capacity: number) {
    this.slots = new Array<CycleMark | undefined>(capacity).fill(undefined);
  }
  push(m: CycleMark): void {
    this.slots[this.next] = m;
    this.next = (this.next + 1) % this.slots.length;
    this.size = Math.min(this.size + 1, this.slots.length);
  }
  /** Oldest first. */
  list(): CycleMark[] {
    const n = this.slots.length;
    const out: CycleMark[] = [];
    for (let i = 0; i < this.size; i++) {
      const m = this.slots[(this.next - this.size + i + n) % n];
      if (m !== undefined) out.push(m);
    }
    return out;
  }
}

/**
 * The engine's memory of recent cycles: the last `capacity` verdicts per
 * check, as measured (before hysteresis), and the last RECENT_CHANGES
 * changes with the failing step's full detail. Bounded by entry counts and
 * cut strings; held in the process only, so a restart forgets it.
 */
export class History {
  readonly capacity: number;
  private readonly rings = new Map<CheckName, Ring>();
  /** Newest first. */
  private changes: RecentChange[] = [];
  private readonly open = new Map<CheckName, RecentChange>();

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`bad capacity ${capacity}`);
    this.capacity = capacity;
  }

  /**
   * One cycle's result for one check; `reported` is the verdict the store
   * serves after it, which confirms the change once it agrees.
   */
  record(r: CheckResult, finishedAt: number, reported: Status | 'unknown'): void {
    let ring = this.rings.get(r.check);
    if (ring === undefined) {
      ring = new Ring(this.capacity);
      this.rings.set(r.check, ring);
    }
    const status = cycleStatusOf(r);
    ring.push({
      at: finishedAt,
      status,
      ...(r.reason === undefined ? {} : { reason: r.reason }),
      durationMs: Math.round(r.durationMs),
    });
    const started = Date.parse(r.startedAt);
    const at = Number.isNaN(started) ? finishedAt : started;
    const agrees = reported === (status === 'blocked' ? 'fail' : status);
    const cur = this.open.get(r.check);
    if (cur !== undefined && cur.to === status && cur.reason === r.reason) {
      cur.cycles += 1;
      if (agrees) cur.confirmed = true;
      return;
    }
    if (cur !== undefined) cur.until = at;
    const detail = failureDetailOf(r);
    const change: RecentChange = {
      check: r.check,
      from: cur?.to ?? 'unknown',
      to: status,
      ...(r.reason === undefined ? {} : { reason: r.reason }),
      since: at,
      cycles: 1,
      confirmed: agrees,
      ...(detail === undefined ? {} : { detail }),
    };
    this.open.set(r.check, change);
    this.changes.unshift(change);
    if (this.changes.length > RECENT_CHANGES) this.changes.length = RECENT_CHANGES;
  }

  /** A copy: readers cannot change what the engine remembers. */
  view(): HistoryView {
    const cycles: HistoryView['cycles'] = {};
    for (const [name, ring] of this.rings) cycles[name] = ring.list();
    return {
      capacity: this.capacity,
      changeCapacity: RECENT_CHANGES,
      cycles,
      changes: this.changes.map((c) => ({ ...c })),
    };
  }

  /** Entries held now: cycles across checks, and changes. */
  counts(): { cycles: number; changes: number } {
    let cycles = 0;
    for (const ring of this.rings.values()) cycles += ring.list().length;
    return { cycles, changes: this.changes.length };
  }
}
