// The sidecar as a process inside a namespace of the simulated EC2 instance:
// `s3-health diagnose --json` once per cell, reduced to what the matrix needs.
import type { Ec2Sim } from '../../../ground/netns/ec2-sim.ts';
import type { Role } from '../../../ground/netns/netns.ts';

export const CLI = 'src/cli.ts';

export interface CheckVerdict {
  status: string;
  reason?: string;
}

export interface SidecarVerdict {
  exitCode: number;
  overall: string;
  imds: CheckVerdict;
  credentials: CheckVerdict;
  s3: CheckVerdict;
  /** the token timeout the sidecar measured before classifying a hop-limit case */
  penaltyMs?: number;
  /** title, cause and fix of every check's remediation, joined */
  remediationText: string;
  /** what the sidecar learned: instance id and region fill the fix commands */
  facts: { instanceId?: string; instanceIdSource?: string; region?: string };
  wallMs: number;
}

interface ReportCheck {
  check: string;
  status: string;
  reason?: string;
  remediation?: { title: string; cause: string; fix: string[] };
  steps?: { observed?: Record<string, unknown>; error?: { detail?: Record<string, unknown> } }[];
}

interface Report {
  status: string;
  checks: ReportCheck[];
  facts?: { instanceId?: string; instanceIdSource?: string; region?: string };
}

function penaltyOf(check: ReportCheck | undefined): number | undefined {
  for (const step of check?.steps ?? []) {
    const raw = step.observed?.fallbackPenaltyMs ?? step.error?.detail?.fallbackPenaltyMs;
    if (raw !== undefined && Number.isFinite(Number(raw))) return Number(raw);
  }
  return undefined;
}

export function verdictOf(report: Report, exitCode: number, wallMs: number): SidecarVerdict {
  const find = (name: string): CheckVerdict => {
    const c = report.checks.find((x) => x.check === name);
    if (c === undefined) throw new Error(`diagnose report has no ${name} check`);
    return c.reason === undefined ? { status: c.status } : { status: c.status, reason: c.reason };
  };
  const imds = report.checks.find((x) => x.check === 'imds');
  const penaltyMs = penaltyOf(imds);
  return {
    exitCode,
    overall: report.status,
    imds: find('imds'),
    credentials: find('credentials'),
    s3: find('s3'),
    ...(penaltyMs === undefined ? {} : { penaltyMs }),
    remediationText: report.checks
      .flatMap((c) =>
        c.remediation ? [c.remediation.title, c.remediation.cause, ...c.remediation.fix] : [],
      )
      .join('\n'),
    facts: {
      ...(report.facts?.instanceId === undefined ? {} : { instanceId: report.facts.instanceId }),
      ...(report.facts?.instanceIdSource === undefined
        ? {}
        : { instanceIdSource: report.facts.instanceIdSource }),
      ...(report.facts?.region === undefined ? {} : { region: report.facts.region }),
    },
    wallMs,
  };
}

export async function runDiagnose(
  sim: Ec2Sim,
  ns: Role,
  extraEnv: Record<string, string>,
): Promise<SidecarVerdict> {
  const result = await sim.execNode(ns, [CLI, 'diagnose', '--json'], extraEnv, 90_000);
  // 0 pass, 1 warn, 2 fail; 3 means it could not run at all.
  if (result.code > 2 || !result.stdout.trim().startsWith('{')) {
    throw new Error(
      `diagnose in ${ns} exited ${result.code}${result.timedOut ? ' (timed out)' : ''}: ${result.stderr.trim().slice(-1500)}`,
    );
  }
  return verdictOf(JSON.parse(result.stdout) as Report, result.code, result.durationMs);
}
