// Looks for secrets in any output: the whole value, and every 24-character
// window of it (a truncated or wrapped token is still a leak).
import { addRow } from './summary.ts';

const WINDOW = 24;

function needles(secret: string): string[] {
  if (secret.length <= WINDOW) return [secret];
  const out: string[] = [];
  for (let i = 0; i + WINDOW <= secret.length; i += 8) out.push(secret.slice(i, i + WINDOW));
  out.push(secret.slice(-WINDOW));
  return out;
}

/** The labels of the outputs in which some part of some secret appears. */
export function findSecrets(outputs: Record<string, string>, secrets: Iterable<string>): string[] {
  const hits: string[] = [];
  const all = [...secrets].filter((s) => s.length >= 16);
  for (const [label, text] of Object.entries(outputs)) {
    for (const s of all) {
      if (needles(s).some((n) => text.includes(n))) {
        hits.push(`${label}: ${s.slice(0, 4)}…`);
        break;
      }
    }
  }
  return hits;
}

/** Scans, records a summary row, and returns the hits (the caller asserts none). */
export function scanAndRecord(
  what: string,
  outputs: Record<string, string>,
  secrets: Iterable<string>,
): string[] {
  const list = [...secrets];
  const hits = findSecrets(outputs, list);
  const bytes = Object.values(outputs).reduce((n, t) => n + Buffer.byteLength(t), 0);
  addRow('secrets', [what, Object.keys(outputs).length, bytes, list.length, hits.length]);
  return hits;
}
