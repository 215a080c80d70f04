import type { CheckName, Status } from '../model/check.ts';
import type { Snapshot } from '../model/health.ts';

/** draft-inadarei-api-health-check keys: "component:measurement". */
export const CHECK_KEYS: Record<CheckName, string> = {
  environment: 'environment:lint',
  imds: 'imds:responseTime',
  credentials: 'credentials:timeToExpiry',
  s3: 's3:roundtrip',
};

const MAX_OUTPUT = 240;

interface HealthCheckEntry {
  componentId: string;
  componentType: 'component' | 'system';
  status: Status;
  time?: string;
  observedValue?: number;
  observedUnit?: string;
  output?: string;
  affectedBy?: string;
}

export interface HealthDocument {
  status: Status;
  version: string;
  serviceId: string;
  description: string;
  checks: Record<string, HealthCheckEntry[]>;
  output?: string;
}

function observedOf(c: Snapshot['checks'][number]): { value?: number; unit?: string } {
  const r = c.state.last;
  if (r === undefined || r.reason === 'blocked') return {};
  if (c.name === 'credentials') {
    const left = r.steps.find((s) => s.name === 'expiry')?.observed.expiresInSeconds;
    return typeof left === 'number' ? { value: left, unit: 's' } : {};
  }
  if (c.name === 'environment') return {};
  return { value: Math.round(r.durationMs), unit: 'ms' };
}

/** The cached verdicts as application/health+json; bounded so it fits Docker's 4 KiB. */
export function healthDocument(
  snap: Snapshot,
  meta: { version: string; serviceId: string },
  only?: CheckName,
): HealthDocument {
  const checks: Record<string, HealthCheckEntry[]> = {};
  const selected = snap.checks.filter((c) => only === undefined || c.name === only);
  for (const c of selected) {
    const { value, unit } = observedOf(c);
    const finished = c.state.lastFinishedAt;
    const entry: HealthCheckEntry = {
      componentId: c.name,
      componentType: 'component',
      status: c.verdict.status,
      ...(finished !== undefined ? { time: new Date(finished).toISOString() } : {}),
      ...(value !== undefined ? { observedValue: value, observedUnit: unit } : {}),
    };
    // Output is absent on pass (draft-inadarei), also while a failure awaits confirmation.
    if (c.verdict.status !== 'pass') {
      const text = c.verdict.reason
        ? `${c.verdict.reason}: ${c.verdict.output ?? ''}`
        : (c.verdict.output ?? '');
      // Control characters from IMDS or S3 text would cost six bytes each in JSON.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
      if (text) entry.output = text.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, MAX_OUTPUT);
    }
    if (c.state.last?.blockedBy) entry.affectedBy = c.state.last.blockedBy;
    checks[CHECK_KEYS[c.name]] = [entry];
  }
  const status =
    only === undefined ? snap.status : (selected[0]?.verdict.status ?? ('fail' as Status));
  return {
    status,
    version: meta.version,
    serviceId: meta.serviceId,
    description: 's3-health: IMDSv2 -> credentials -> S3 round-trip',
    checks,
  };
}

/** Kubernetes-style `?verbose`: one line a check, then the overall line. */
export function verboseText(snap: Snapshot, only?: CheckName): string {
  const lines: string[] = [];
  let failed = false;
  for (const c of snap.checks) {
    if (only !== undefined && c.name !== only) continue;
    const v = c.verdict;
    if (v.status === 'fail') failed = true;
    const why = `${v.reason ?? 'unknown'}${v.output ? ` (${v.output.slice(0, 160)})` : ''}`;
    if (v.status === 'pass') lines.push(`[+]${c.name} ok`);
    else if (v.status === 'warn') lines.push(`[+]${c.name} ok with warning: ${why}`);
    else lines.push(`[-]${c.name} failed: ${why}`);
  }
  lines.push(failed ? 'healthz check failed' : 'healthz check passed');
  return `${lines.join('\n')}\n`;
}

export function httpStatusFor(status: Status): 200 | 503 {
  return status === 'fail' ? 503 : 200;
}
