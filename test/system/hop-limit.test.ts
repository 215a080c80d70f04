// Issue 5: the IMDS hop limit with real IP TTL. An EC2 instance simulated in
// network namespaces (ground/netns/ec2-sim.ts): IMDS at 169.254.169.254:80, a real
// radosgw and the STS endpoint in the aws namespace; the sidecar and the
// app's SDK run as processes in the host namespace and behind the bridge in
// the container namespace, with no IMDS endpoint override, as on EC2.
// Every cell compares the sidecar's verdict with what the app's SDK gets.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Ec2Sim, startEc2Sim } from '../../ground/netns/ec2-sim.ts';
import { listNamespaces, netnsAvailable, type Role } from '../../ground/netns/netns.ts';
import { radosgwInstalled } from '../../ground/radosgw/radosgw.ts';
import { processAlive } from '../../ground/shared/process.ts';
import {
  type Cell,
  cellEnv,
  expectedFor,
  HOPS,
  mismatches,
  type Ns,
  type Row,
  renderTable,
  TOKENS,
  V1_DISABLED,
  verdictText,
} from './support/hop-matrix.ts';
import { CLI, runDiagnose } from './support/sidecar-cli.ts';

const TABLE_FILE = join(tmpdir(), 's3-health-hop-limit-matrix.md');
/** Every row in full (remediation text, SDK error messages), for post-mortems. */
const ROWS_FILE = join(tmpdir(), 's3-health-hop-limit-matrix.json');
const NAMESPACES: readonly Ns[] = ['host', 'container'];
const CELL_TIMEOUT = 120_000;

/** Every reason this machine cannot run the tier; the tier fails on any, never skips. */
function preflight(): string[] {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('needs root (uid 0)');
  const netns = netnsAvailable();
  if (!netns.ok) problems.push(`network namespaces: ${netns.why}`);
  if (!radosgwInstalled()) problems.push('radosgw/ceph not installed (scripts/install-peers.sh)');
  if (spawnSync('curl', ['--version'], { stdio: 'ignore' }).status !== 0)
    problems.push('curl missing');
  if (!process.version.startsWith('v24.')) problems.push(`Node 24 needed, got ${process.version}`);
  return problems;
}

describe('IMDS hop limit on a simulated EC2 instance (network namespaces, real TTL)', () => {
  let sim: Ec2Sim | undefined;
  const rows: Row[] = [];
  const mutationRows: Row[] = [];
  const spawned: number[] = [];
  let names: string[] = [];

  const s = (): Ec2Sim => {
    if (!sim) throw new Error('the simulated instance did not start');
    return sim;
  };

  async function runCell(cell: Cell): Promise<Row> {
    const env = cellEnv(cell);
    const sidecar = await runDiagnose(s(), cell.ns, env);
    const app = await s().runAppProbe(cell.ns, env);
    return {
      cell,
      sidecar,
      app,
      expected: expectedFor(cell),
      mismatches: mismatches(sidecar, app),
    };
  }

  function expectRow(r: Row): void {
    const got = {
      imds: verdictText(r.sidecar.imds),
      credentials: verdictText(r.sidecar.credentials),
      s3: verdictText(r.sidecar.s3),
    };
    const where = `${r.cell.ns}, hop ${r.cell.hop}, tokens ${r.cell.tokens}, V1_DISABLED ${r.cell.v1Disabled}`;
    expect(got, where).toEqual(r.expected);
    expect(r.mismatches, `${where}: s3-health vs the app's SDK`).toEqual([]);
  }

  beforeAll(async () => {
    const problems = preflight();
    // Fail loudly: a silent skip would hide that the hop-limit matrix never ran.
    if (problems.length > 0) throw new Error(`system tier cannot run: ${problems.join('; ')}`);
    // As on Nitro: the instance id in DMI board_asset_tag, for when IMDS cannot answer.
    sim = await startEc2Sim({ hopLimit: 1, dmiAssetTag: true });
    names = Object.values(sim.topology.names);
    const { self, mon, osd, rgw } = sim.aws.pids;
    spawned.push(self, mon, osd, rgw);
    console.log(
      `simulated EC2 instance ${sim.aws.identity.instanceId} (${sim.aws.identity.region}): ` +
        `topology ${Math.round(sim.topology.timings.setupMs)} ms, AWS side (radosgw, STS, IMDS) ${sim.aws.startMs} ms`,
    );
  }, 240_000);

  afterAll(async () => {
    try {
      if (rows.length + mutationRows.length > 0) {
        const text = [
          '### IMDS hop limit matrix (sidecar `diagnose --json` vs the app SDK `fromNodeProviderChain`)',
          '',
          renderTable(rows),
          '',
          '### Mutation check: TTL rule removed from the aws namespace',
          '',
          renderTable(mutationRows),
          '',
        ].join('\n');
        writeFileSync(TABLE_FILE, text);
        writeFileSync(ROWS_FILE, `${JSON.stringify({ rows, mutationRows }, null, 2)}\n`);
        console.log(`${text}\n(table written to ${TABLE_FILE}, every row in full to ${ROWS_FILE})`);
      }
    } finally {
      await sim?.close();
    }
    const left = (await listNamespaces()).filter((n) => names.includes(n));
    expect(left, 'namespaces left behind').toEqual([]);
    expect(spawned.filter(processAlive), 'processes left behind').toEqual([]);
  }, 120_000);

  for (const hop of HOPS) {
    for (const tokens of TOKENS) {
      for (const v1Disabled of V1_DISABLED) {
        it(`hop limit ${hop}, HttpTokens ${tokens}, AWS_EC2_METADATA_V1_DISABLED ${v1Disabled ? 'true' : 'unset'}: host and container`, {
          timeout: CELL_TIMEOUT,
        }, async () => {
          await s().topology.setHopLimit(hop);
          await s().setTokensRequired(tokens === 'required');
          const before = await s().topology.counters();
          // The two namespaces share nothing but the emulator: run them side by side.
          const pair = await Promise.all(
            NAMESPACES.map((ns) => runCell({ ns, hop, tokens, v1Disabled })),
          );
          const after = await s().topology.counters();
          rows.push(...pair);
          for (const r of pair) expectRow(r);
          const container = pair.find((r) => r.cell.ns === 'container');
          if (hop === 1) {
            // The loss is real: the host namespace dropped the token answer by TTL.
            expect(after.ipInHdrErrors).toBeGreaterThan(before.ipInHdrErrors);
            expect(container?.sidecar.penaltyMs).toBeTypeOf('number');
            expect(container?.sidecar.remediationText).toContain('--http-put-response-hop-limit 2');
          }
          if (hop === 1 && tokens === 'required') {
            // IMDS cannot answer the container: the id comes from DMI, named as such.
            const { instanceId, region } = s().aws.identity;
            expect(container?.sidecar.facts).toMatchObject({
              instanceId,
              instanceIdSource: 'dmi-board-asset-tag',
            });
            expect(container?.sidecar.remediationText).toContain(
              `--instance-id ${instanceId} --region ${region}`,
            );
            expect(container?.sidecar.remediationText).not.toContain('<INSTANCE_ID>');
          }
          if (hop === 1 && tokens === 'optional' && !v1Disabled) {
            expect(container?.app.credentials.v1Fallback).toBe(true);
            // Learned over IMDSv1, filled into the fix command.
            const { instanceId, region } = s().aws.identity;
            expect(container?.sidecar.remediationText).toContain(
              `--instance-id ${instanceId} --region ${region}`,
            );
            // The measured penalty reaches the report, not only the metrics.
            expect(container?.sidecar.remediationText).toContain(
              `${container?.sidecar.penaltyMs} ms`,
            );
          }
        });
      }
    }
  }

  it('mutation check: with the TTL rule removed from the aws namespace the hop-1 cells pass', {
    timeout: CELL_TIMEOUT * 2,
  }, async () => {
    await s().topology.setHopLimit(1);
    await s().topology.removeHopLimitRule();
    const before = await s().topology.counters();
    try {
      for (const tokens of TOKENS) {
        await s().setTokensRequired(tokens === 'required');
        for (const v1Disabled of V1_DISABLED) {
          const cell: Cell = { ns: 'container', hop: null, tokens, v1Disabled };
          const r = await runCell(cell);
          mutationRows.push(r);
          expectRow(r);
          expect(r.app.credentials.v1Fallback).toBe(false);
        }
      }
      // Nothing was dropped by TTL: the rule, not something else, made the hop-1 cells differ.
      expect((await s().topology.counters()).ipInHdrErrors).toBe(before.ipInHdrErrors);
    } finally {
      await s().topology.setHopLimit(1);
      await s().setTokensRequired(false);
    }
  });

  /** /healthz from inside a namespace: the status code and the body. */
  async function healthz(
    ns: Role,
    port: number,
    query = '',
  ): Promise<{ code: number; body: string }> {
    const r = await s().topology.execIn(
      ns,
      'curl',
      [
        '-sS',
        '--max-time',
        '3',
        '-w',
        '\n%{http_code}',
        `http://127.0.0.1:${port}/healthz${query}`,
      ],
      { timeoutMs: 10_000 },
    );
    const lines = r.stdout.split('\n');
    return { code: Number(lines.pop()), body: lines.join('\n') };
  }

  async function waitForHealthz(ns: Role, port: number, code: number, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const h = await healthz(ns, port);
      if (h.code === code) return h;
      if (Date.now() > deadline)
        throw new Error(`/healthz stayed ${h.code}, wanted ${code}: ${h.body}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it('serve + check in the container at hop limit 1: 200 with the warning, 503 once tokens are required', {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const port = 8080;
    const env = {
      S3_HEALTH_PORT: String(port),
      S3_HEALTH_HOST: '127.0.0.1',
      S3_HEALTH_INTERVAL_SECONDS: '5',
      S3_HEALTH_TIMEOUT_SECONDS: '4',
      S3_HEALTH_FAILURE_THRESHOLD: '1',
      S3_HEALTH_LOG_LEVEL: 'warn',
    };
    await s().topology.setHopLimit(1);
    await s().setTokensRequired(false);
    const serve = await s().spawnNode('container', [CLI, 'serve'], env);
    spawned.push(serve.pid);
    try {
      await s().topology.waitForListen('container', '127.0.0.1', port, 30_000);
      await waitForHealthz('container', port, 200, 30_000);
      const ok = await s().execNode('container', [CLI, 'check'], env);
      expect(ok.code, ok.stdout).toBe(0);
      const verbose = await healthz('container', port, '?verbose');
      expect(verbose.body).toContain('[+]imds ok with warning');
      expect(verbose.body).toContain('imds_hop_limit_v1_fallback');

      await s().setTokensRequired(true);
      await waitForHealthz('container', port, 503, 40_000);
      const bad = await s().execNode('container', [CLI, 'check'], env);
      expect(bad.code, bad.stdout).toBe(1);
      const failing = await healthz('container', port, '?verbose');
      expect(failing.body).toContain('imds_hop_limit_tokens_required');
      console.log(
        `serve in the container: check → ${ok.code} (${ok.stdout.trim().slice(0, 60)}…), after HttpTokens=required → ${bad.code}\n${failing.body}`,
      );
    } finally {
      await serve.kill(10_000);
      await s().setTokensRequired(false);
    }
    // SIGTERM: finish or abandon the cycle, close, exit 0 (SPEC §8).
    expect((await serve.exited).code).toBe(0);
  });
});
