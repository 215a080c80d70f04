// Real IP TTL between network namespaces: the container's token PUT dies at
// hop limit 1 while its GET answers, as on EC2 behind a Docker bridge.
import { readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTopology,
  listNamespaces,
  netnsAvailable,
  type Role,
  reapStaleTopologies,
  type SpawnedProcess,
  type Topology,
} from '../../ground/netns/netns.ts';
import { spawnTracked } from '../../ground/netns/proc.ts';
import { FORBIDDEN_NETNS_ENV, GUARD_NODE_ARGS } from '../../ground/shared/network-guard.ts';
import { processAlive } from '../../ground/shared/process.ts';

// The project's IMDS emulator, bound to the real metadata address inside the
// aws namespace; its control plane listens on that namespace's loopback only.
const EMULATOR = fileURLToPath(new URL('../../ground/imds/emulator.ts', import.meta.url));
const CONTROL = 'http://127.0.0.1:8081';

// The real SDK with its default endpoint: inside the container namespace
// 169.254.169.254 routes only to our aws namespace. It refuses to run in the
// network namespace of the test process, as a guard for the network rule.
const SDK_PROBE = `
import { readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromInstanceMetadata } from '@aws-sdk/credential-providers';
if (readlinkSync('/proc/self/ns/net') === process.env.PARENT_NETNS) {
  console.log(JSON.stringify({ ok: false, message: 'refusing: root network namespace' }));
  process.exit(3);
}
const debug = [];
const logger = { debug: (...a) => debug.push(a.join(' ')), info: () => {}, warn: (...a) => debug.push(a.join(' ')), error: () => {} };
const t0 = performance.now();
try {
  const c = await fromInstanceMetadata({ logger })();
  console.log(JSON.stringify({ ok: true, accessKeyId: c.accessKeyId, ms: performance.now() - t0, debug }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, name: e.name, message: e.message, ms: performance.now() - t0, debug }));
}
`;

interface SdkOutcome {
  ok: boolean;
  name?: string;
  message?: string;
  accessKeyId?: string;
  ms: number;
  debug: string[];
}

const TEST_TIMEOUT = 60_000;
const IMDS = 'http://169.254.169.254';

/** The environment of this process without anything that steers the SDK. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^AWS_/.test(key) || /_proxy$/i.test(key)) continue;
    env[key] = value;
  }
  return {
    ...env,
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    ...extra,
  };
}

describe('netns topology with real IP TTL', () => {
  let topo: Topology | undefined;
  const allNames: string[] = [];
  const allPids: number[] = [];

  const t = (): Topology => {
    if (!topo) throw new Error('topology not created');
    return topo;
  };

  async function startEmulator(): Promise<SpawnedProcess> {
    const proc = await t().spawnIn(
      'aws',
      process.execPath,
      [
        ...GUARD_NODE_ARGS,
        EMULATOR,
        '--host',
        t().imdsAddress,
        '--port',
        '80',
        '--control-host',
        '127.0.0.1',
        '--control-port',
        '8081',
      ],
      { env: cleanEnv() },
    );
    allPids.push(proc.pid);
    await proc.waitForOutput(/"url"/, 20_000);
    return proc;
  }

  /** The emulator's control plane, reached from inside the aws namespace. */
  async function control(method: 'GET' | 'PUT', path: string): Promise<unknown> {
    const result = await t().execIn('aws', 'curl', [
      '-sS',
      '--max-time',
      '5',
      '-X',
      method,
      `${CONTROL}${path}`,
    ]);
    if (result.code !== 0) throw new Error(`control ${path}: ${result.stderr}`);
    return JSON.parse(result.stdout);
  }

  async function tokenPuts(): Promise<number> {
    const counters = (await control('GET', '/counters')) as { tokenPuts: number };
    return counters.tokenPuts;
  }

  /** curl reports the connect time and the status even when it times out. */
  async function curl(ns: Role, method: 'PUT' | 'GET', path: string) {
    const args = [
      '-sS',
      '--max-time',
      '2',
      '-o',
      '/dev/null',
      '-w',
      '%{time_connect} %{http_code}',
    ];
    if (method === 'PUT') args.push('-X', 'PUT', '-H', 'X-aws-ec2-metadata-token-ttl-seconds: 60');
    const result = await t().execIn(ns, 'curl', [...args, `${IMDS}${path}`], { timeoutMs: 10_000 });
    const [connect = '0', status = '000'] = result.stdout.trim().split(' ');
    return { exit: result.code, connected: Number(connect) > 0, status: Number(status) };
  }

  const putToken = (ns: Role) => curl(ns, 'PUT', '/latest/api/token');
  const getMeta = (ns: Role) => curl(ns, 'GET', '/latest/meta-data/');

  async function sdkInContainer(): Promise<SdkOutcome> {
    const result = await t().execIn(
      'container',
      process.execPath,
      [...GUARD_NODE_ARGS, '--input-type=module', '-e', SDK_PROBE],
      {
        env: cleanEnv({
          PARENT_NETNS: readlinkSync('/proc/self/ns/net'),
          [FORBIDDEN_NETNS_ENV]: readlinkSync('/proc/self/ns/net'),
        }),
        cwd: process.cwd(),
        timeoutMs: 30_000,
      },
    );
    const line = result.stdout.trim().split('\n').at(-1) ?? '';
    if (!line.startsWith('{')) throw new Error(`SDK probe printed nothing: ${result.stderr}`);
    return JSON.parse(line) as SdkOutcome;
  }

  beforeAll(async () => {
    const availability = netnsAvailable();
    // Fail loudly: a silent skip would hide that the hop-limit tests never ran.
    if (!availability.ok) throw new Error(`netns tests cannot run here: ${availability.why}`);
    topo = await createTopology({ hopLimit: 1 });
    allNames.push(...Object.values(topo.names));
    await startEmulator();
    await topo.waitForListen('aws', topo.imdsAddress, 80);
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await topo?.close();
    const left = await listNamespaces();
    expect(left.filter((name) => allNames.includes(name))).toEqual([]);
    expect(allPids.filter(processAlive)).toEqual([]);
  }, TEST_TIMEOUT);

  it('exposes names, paths and the IP plan', () => {
    const { names, paths, ipPlan } = t();
    expect(names.aws).toMatch(/^s3h-[0-9a-f]{8}-aws$/);
    expect(paths.host).toBe(`/run/netns/${names.host}`);
    expect(ipPlan.docker.bip).toBe('10.254.3.1/24');
    expect(t().hopLimit).toBe(1);
  });

  it('host namespace: token PUT and GET both answer at hop limit 1', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    expect(await putToken('host')).toEqual({ exit: 0, connected: true, status: 200 });
    expect(await getMeta('host')).toEqual({ exit: 0, connected: true, status: 200 });
  });

  it('container at hop limit 1: PUT connects then times out, GET answers, host drops by TTL', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const before = await t().counters();
    const putsBefore = await tokenPuts();
    const put = await putToken('container');
    expect(put).toMatchObject({ exit: 28, connected: true, status: 0 });
    const after = await t().counters();
    expect(after.ipInHdrErrors).toBeGreaterThan(before.ipInHdrErrors);
    expect(after.icmpOutTimeExcds).toBeGreaterThan(before.icmpOutTimeExcds);
    // The emulator answered: the loss is on the way back, as on EC2.
    expect(await tokenPuts()).toBe(putsBefore + 1);
    expect(await getMeta('container')).toEqual({ exit: 0, connected: true, status: 200 });
  });

  it('container at hop limit 2: both answer', { timeout: TEST_TIMEOUT }, async () => {
    await t().setHopLimit(2);
    expect(t().hopLimit).toBe(2);
    expect(await putToken('container')).toEqual({ exit: 0, connected: true, status: 200 });
    expect(await getMeta('container')).toEqual({ exit: 0, connected: true, status: 200 });
  });

  it('mutation check: without the TTL rule the hop-1 PUT answers', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    await t().setHopLimit(1);
    expect((await putToken('container')).exit).toBe(28);
    await t().removeHopLimitRule();
    expect(t().hopLimit).toBeNull();
    expect(await putToken('container')).toEqual({ exit: 0, connected: true, status: 200 });
    await t().setHopLimit(1);
  });

  it('rejects a hop limit outside 1..255', async () => {
    await expect(t().setHopLimit(0)).rejects.toThrow(RangeError);
    await expect(t().setHopLimit(1.5)).rejects.toThrow(RangeError);
  });

  it('aws namespace hosts other peers, reachable from the container through NAT', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const extra = '169.254.170.10';
    await t().addAwsAddress(extra);
    const peer = await t().spawnIn(
      'aws',
      process.execPath,
      [
        ...GUARD_NODE_ARGS,
        '-e',
        `let n = 0;
         for (const a of ['${t().awsPeerAddress}', '${extra}']) {
           require('node:http').createServer((q, r) => r.end(q.socket.remoteAddress)).listen(8080, a, () => { if (++n === 2) console.log('listening'); });
         }`,
      ],
      { env: cleanEnv() },
    );
    allPids.push(peer.pid);
    await peer.waitForOutput(/listening/);
    for (const address of [t().awsPeerAddress, extra]) {
      const result = await t().execIn('container', 'curl', [
        '-sS',
        '--max-time',
        '5',
        `http://${address}:8080/`,
      ]);
      expect(result.code).toBe(0);
      // MASQUERADE: the peer sees the host's side of the veth, not the container.
      expect(result.stdout).toBe(t().ipPlan.awsLink.hostSide);
    }
    await peer.kill();
    expect(processAlive(peer.pid)).toBe(false);
  });

  describe('real AWS SDK fromInstanceMetadata() in the container, default endpoint', () => {
    it('hop limit 2: credentials via IMDSv2', { timeout: TEST_TIMEOUT }, async () => {
      await t().setHopLimit(2);
      const outcome = await sdkInContainer();
      expect(outcome).toMatchObject({ ok: true, accessKeyId: expect.stringMatching(/^ASIA/) });
      expect(outcome.debug.join('\n')).not.toMatch(/v1 fallback/);
    });

    it('hop limit 1, tokens optional: credentials after a silent IMDSv1 fallback', {
      timeout: TEST_TIMEOUT,
    }, async () => {
      await t().setHopLimit(1);
      const outcome = await sdkInContainer();
      expect(outcome).toMatchObject({ ok: true, accessKeyId: expect.stringMatching(/^ASIA/) });
      expect(outcome.debug.join('\n')).toMatch(/using v1 fallback/);
    });

    it('hop limit 1, tokens required: the SDK gets a 401', { timeout: TEST_TIMEOUT }, async () => {
      await control('PUT', '/tokens-required/true');
      await t().setHopLimit(1);
      const outcome = await sdkInContainer();
      expect(outcome.ok).toBe(false);
      expect(outcome.message).toMatch(/Error response received from instance metadata service/);
      await control('PUT', '/tokens-required/false');
    });
  });
});

describe('netns teardown', () => {
  it('close() stops processes inside, deletes the namespaces, and is idempotent', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const availability = netnsAvailable();
    if (!availability.ok) throw new Error(`netns tests cannot run here: ${availability.why}`);
    const topo = await createTopology();
    const names = Object.values(topo.names);
    // One tracked process, and one that escaped tracking (started by a shell, backgrounded).
    const sleeper = await topo.spawnIn('host', 'sleep', ['300']);
    const escaped = await topo.execIn('container', 'sh', [
      '-c',
      'setsid sleep 300 >/dev/null 2>&1 & echo $!',
    ]);
    const escapedPid = Number(escaped.stdout.trim());
    expect(processAlive(sleeper.pid)).toBe(true);
    expect(processAlive(escapedPid)).toBe(true);
    await topo.close();
    await topo.close();
    expect(processAlive(sleeper.pid)).toBe(false);
    expect(processAlive(escapedPid)).toBe(false);
    const left = await listNamespaces();
    expect(left.filter((name) => names.includes(name))).toEqual([]);
    expect(topo.timings.teardownMs).not.toBeNull();
    await expect(topo.spawnIn('host', 'true', [])).rejects.toThrow(/closed/);
  });

  it('a later run reaps namespaces of a run that was killed', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const availability = netnsAvailable();
    if (!availability.ok) throw new Error(`netns tests cannot run here: ${availability.why}`);
    const module = new URL('../../ground/netns/netns.ts', import.meta.url).href;
    const owner = spawnTracked([
      process.execPath,
      ...GUARD_NODE_ARGS,
      '-e',
      `import(${JSON.stringify(module)}).then(async (m) => {
         const t = await m.createTopology();
         console.log(JSON.stringify(t.names));
         setInterval(() => {}, 1000);
       })`,
    ]);
    const line = await owner.waitForOutput(/\{.*\}/, 20_000);
    const names = Object.values(JSON.parse(line[0]) as Record<string, string>);
    try {
      // SIGTERM without a handler skips 'exit' hooks: the namespaces stay behind.
      await owner.kill();
      const leftBehind = (await listNamespaces()).filter((name) => names.includes(name));
      expect(leftBehind.sort()).toEqual([...names].sort());
      const reaped = await reapStaleTopologies();
      expect(reaped.sort()).toEqual([...names].sort());
      expect((await listNamespaces()).filter((name) => names.includes(name))).toEqual([]);
    } finally {
      await owner.kill();
      await reapStaleTopologies();
    }
  });
});
