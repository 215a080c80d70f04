// The hop-limit matrix: its cells, what the issue expects of each, how the
// sidecar's verdict is compared with what the app's own SDK experienced, and
// the table printed for humans.
import type { AppSdkOutcome } from '../../../ground/netns/ec2-sim.ts';
import type { SidecarVerdict } from './sidecar-cli.ts';

export type Ns = 'host' | 'container';
export type Tokens = 'optional' | 'required';

export interface Cell {
  ns: Ns;
  /** null: the TTL rule is removed from the aws namespace (mutation check) */
  hop: 1 | 2 | null;
  tokens: Tokens;
  v1Disabled: boolean;
}

export interface Row {
  cell: Cell;
  sidecar: SidecarVerdict;
  app: AppSdkOutcome;
  /** what the issue expects, per check: `pass`, `warn:reason`, `fail:reason` */
  expected: Record<'imds' | 'credentials' | 's3', string>;
  /** where the sidecar's verdict and the SDK's reality disagree (empty: they match) */
  mismatches: string[];
}

export const HOPS = [1, 2] as const;
export const TOKENS: readonly Tokens[] = ['optional', 'required'];
export const V1_DISABLED = [false, true] as const;

export function cellEnv(cell: Cell): Record<string, string> {
  return cell.v1Disabled ? { AWS_EC2_METADATA_V1_DISABLED: 'true' } : {};
}

const PASS = { imds: 'pass', credentials: 'pass', s3: 'pass' };
const BLOCKED = { credentials: 'fail:blocked', s3: 'fail:blocked' };

/** Issue 5: host always passes, hop 2 passes, hop 1 depends on tokens and the v1 switch. */
export function expectedFor(cell: Cell): Row['expected'] {
  if (cell.ns === 'host' || cell.hop !== 1) return PASS;
  if (cell.tokens === 'required')
    return { imds: 'fail:imds_hop_limit_tokens_required', ...BLOCKED };
  if (cell.v1Disabled) return { imds: 'fail:imds_token_timeout', ...BLOCKED };
  return { imds: 'warn:imds_hop_limit_v1_fallback', credentials: 'pass', s3: 'pass' };
}

export function verdictText(v: { status: string; reason?: string }): string {
  return v.status === 'pass' || v.reason === undefined ? v.status : `${v.status}:${v.reason}`;
}

/**
 * The sidecar must tell the truth about what the app gets: IMDSv2 works ⇔
 * imds pass; the SDK got credentials only through its IMDSv1 fallback ⇔ imds
 * warns with the hop-limit reason; the SDK got nothing ⇔ imds fails and the
 * rest is blocked; the app's S3 round trip ⇔ the s3 check.
 */
export function mismatches(s: SidecarVerdict, app: AppSdkOutcome): string[] {
  const out: string[] = [];
  const want = (what: string, ok: boolean) => {
    if (!ok) out.push(what);
  };
  if (!app.credentials.ok) {
    want(
      `SDK got no credentials (${app.credentials.errorName}) but imds is ${s.imds.status}`,
      s.imds.status === 'fail',
    );
    want(
      `SDK got no credentials but credentials is ${verdictText(s.credentials)}`,
      s.credentials.status === 'fail',
    );
    want(`SDK got no credentials but s3 is ${s.s3.status}`, s.s3.status === 'fail');
    return out;
  }
  if (app.credentials.v1Fallback) {
    want(
      `SDK fell back to IMDSv1 but imds is ${verdictText(s.imds)}`,
      s.imds.status === 'warn' && s.imds.reason === 'imds_hop_limit_v1_fallback',
    );
  } else {
    want(`SDK used IMDSv2 but imds is ${verdictText(s.imds)}`, s.imds.status === 'pass');
  }
  want(
    `SDK got credentials but credentials is ${verdictText(s.credentials)}`,
    s.credentials.status === 'pass',
  );
  const s3ok = app.s3?.ok === true;
  want(
    `app S3 ${s3ok ? 'worked' : 'failed'} but s3 is ${s.s3.status}`,
    (s.s3.status === 'pass') === s3ok,
  );
  return out;
}

function hopText(hop: Cell['hop']): string {
  return hop === null ? '1, rule removed' : String(hop);
}

function sdkText(app: AppSdkOutcome): string {
  if (!app.credentials.ok) {
    const cause = app.credentials.imdsCause?.split(':')[0];
    return `error ${app.credentials.errorName}${cause ? ` (IMDS: ${cause})` : ''}`;
  }
  return app.credentials.v1Fallback ? 'ok via IMDSv1 fallback' : 'ok via IMDSv2';
}

function s3Text(app: AppSdkOutcome): string {
  if (app.s3 === undefined) return '-';
  return app.s3.ok
    ? 'ok'
    : `${app.s3.errorName}${app.s3.httpStatus ? ` ${app.s3.httpStatus}` : ''}`;
}

const ms = (n: number | undefined) => (n === undefined ? '-' : String(Math.round(n)));

/** Markdown, so the same text reads in a terminal and pastes into the README. */
export function renderTable(rows: readonly Row[]): string {
  const head = [
    'namespace',
    'hop limit',
    'HttpTokens',
    'V1_DISABLED',
    's3-health imds',
    'credentials',
    's3',
    'exit',
    'fallback penalty ms',
    'instance id in the report (source)',
    'app SDK credentials',
    'SDK fetch ms',
    'app S3',
    'match',
  ];
  const lines = rows.map((r) => [
    r.cell.ns,
    hopText(r.cell.hop),
    r.cell.tokens,
    r.cell.v1Disabled ? 'true' : 'unset',
    verdictText(r.sidecar.imds),
    verdictText(r.sidecar.credentials),
    verdictText(r.sidecar.s3),
    String(r.sidecar.exitCode),
    ms(r.sidecar.penaltyMs),
    r.sidecar.facts.instanceId === undefined
      ? '-'
      : `${r.sidecar.facts.instanceId} (${r.sidecar.facts.instanceIdSource ?? '?'})`,
    sdkText(r.app),
    ms(r.app.credentials.ms),
    s3Text(r.app),
    r.mismatches.length === 0 ? 'yes' : `NO: ${r.mismatches.join('; ')}`,
  ]);
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [row(head), row(head.map(() => '---')), ...lines.map(row)].join('\n');
}
