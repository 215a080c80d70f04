// The network guard reaches into every process the run spawns: a child
// started with GUARD_NODE_ARGS, the sidecar included, throws on a socket to a
// metadata address. Each child first runs a tripwire that exits 70 when the
// guard is not in, so a missing preload fails these tests without a packet
// ever leaving for the real address.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FORBIDDEN_NETNS_ENV,
  GUARD_MARK,
  GUARD_NODE_ARGS,
  METADATA_ADDRESSES,
} from '../../ground/shared/network-guard.ts';
import { getText, waitUntil } from '../reliability/support/http.ts';
import {
  baseEnv,
  freePort,
  killAll,
  spawnSidecar,
  waitListening,
} from '../reliability/support/process.ts';

const TRIPWIRE_EXIT = 70;
const TRIPWIRE = [
  '--import',
  `data:text/javascript,if(!globalThis[Symbol.for(${JSON.stringify(GUARD_MARK.description)})]){process.stderr.write("tripwire: no network guard\\n");process.exit(${TRIPWIRE_EXIT})}`,
];

afterAll(killAll);

/** Runs `script` in a guarded child; returns its exit code and output. */
async function guardedChild(
  script: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  const child = spawn(
    process.execPath,
    [...GUARD_NODE_ARGS, ...TRIPWIRE, '--input-type=module', '-e', script],
    { env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out };
}

const CONNECT_ALL = `
import net from 'node:net';
for (const host of ${JSON.stringify([...METADATA_ADDRESSES])}) {
  try { net.connect({ host, port: 80 }).destroy(); console.log(host + ': connected'); }
  catch (e) { console.log(host + ': ' + e.message); }
}`;

describe('network guard in spawned processes', () => {
  it('a guarded child throws on every metadata address, before any packet', async () => {
    const { code, out } = await guardedChild(CONNECT_ALL);
    expect(code).toBe(0);
    for (const host of METADATA_ADDRESSES) {
      expect(out).toContain(`${host}: network guard: a spawned process`);
    }
    expect(out).not.toContain('connected');
  });

  it('naming its own namespace as the forbidden one opens nothing', async () => {
    // The allowance is for processes inside the run's namespaces: the env
    // variable alone, in the namespace it names, changes nothing.
    const { out } = await guardedChild(CONNECT_ALL, {
      [FORBIDDEN_NETNS_ENV]: readlinkSync('/proc/self/ns/net'),
    });
    expect(out).toContain('169.254.169.254: network guard');
    expect(out).not.toContain('connected');
  });

  it('the sidecar pointed at the real IMDS address gets the guard error, inside its own process', async () => {
    const s = spawnSidecar(
      {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://169.254.169.254',
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
        AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9',
        S3_HEALTH_BUCKET: 'guard-test',
        S3_HEALTH_INTERVAL_SECONDS: '1',
        S3_HEALTH_TIMEOUT_SECONDS: '1',
      },
      await freePort(),
      { nodeArgs: TRIPWIRE },
    );
    try {
      await waitListening(s);
      let imds = '';
      await waitUntil(
        'imds verdict',
        async () => {
          const doc = JSON.parse((await getText(`${s.url}/healthz`)).body) as {
            checks: Record<string, { componentId: string; output?: string }[]>;
          };
          const entry = Object.values(doc.checks)
            .flat()
            .find((e) => e.componentId === 'imds');
          imds = entry?.output ?? '';
          return imds !== '';
        },
        15_000,
      );
      expect(imds).toMatch(
        /network guard: a spawned process \(pid \d+\) tried to reach 169\.254\.169\.254/,
      );
    } finally {
      const { code } = await s.stop('SIGKILL');
      expect(code, `sidecar exited by itself:\n${s.output()}`).not.toBe(TRIPWIRE_EXIT);
    }
  });
});
