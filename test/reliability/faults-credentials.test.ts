// Fault matrix, credentials side: STS down, slow, failing or resetting;
// credentials expiring, expired (extended by the SDK) and rotating; and a
// sidecar whose clock is 20 minutes behind (libfaketime), so the real
// radosgw answers RequestTimeTooSkewed.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultGround } from './support/ground.ts';
import { closeAll, type Matrix, matrixTests, startMatrix } from './support/harness.ts';
import { getText, verdicts, waitUntil } from './support/http.ts';
import { cycles, FAST, type FaultCase, timingEnv } from './support/matrix.ts';
import { freePort, type SidecarProcess, spawnSidecar, waitListening } from './support/process.ts';
import { addRow } from './support/summary.ts';

let m: Matrix;
let g: FaultGround;
let s: SidecarProcess;
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

beforeAll(async () => {
  m = await startMatrix();
  ({ g, s } = m);
}, 60_000);

afterAll(() => closeAll(m?.g));

const clear = async () => {
  g.setRotateEveryFetch(false);
  await g.clearFaults();
};

const cases: FaultCase[] = [
  {
    peer: 'sts',
    name: 'down (port closed)',
    inject: () => g.proxies.sts.set({ kind: 'refuse' }),
    clear,
    check: 'credentials',
    status: 'fail',
    reasons: ['connection_refused'],
    step: 'identity',
  },
  {
    peer: 'sts',
    name: 'slow (4 s an answer)',
    inject: () => g.sts.setFault('slow', { delayMs: 4000 }),
    clear,
    check: 'credentials',
    status: 'fail',
    reasons: ['timeout'],
    step: 'identity',
  },
  {
    peer: 'sts',
    name: '500 InternalFailure',
    inject: () => g.sts.setFault('error500'),
    clear,
    check: 'credentials',
    status: 'fail',
    reasons: ['sts_error'],
    step: 'identity',
  },
  {
    peer: 'sts',
    name: 'connection reset',
    boundMs: 6000,
    inject: () => g.proxies.sts.set({ kind: 'reset' }),
    clear,
    check: 'credentials',
    status: 'fail',
    reasons: ['connection_reset'],
    step: 'identity',
  },
  {
    peer: 'credentials',
    name: 'expiring in 10 min (IMDS stops rotating)',
    inject: () => g.imds.setFault('credentials-expiring', { expiresInSeconds: 600 }),
    clear,
    check: 'credentials',
    status: 'warn',
    reasons: ['credentials_expiring'],
  },
  {
    peer: 'credentials',
    name: 'expiring in 2 min (IMDS stops rotating)',
    inject: () => g.imds.setFault('credentials-expiring', { expiresInSeconds: 120 }),
    clear,
    check: 'credentials',
    status: 'fail',
    reasons: ['credentials_expiring'],
    step: 'expiry',
  },
  {
    peer: 'credentials',
    name: 'expired 10 min ago (SDK extends them)',
    inject: () => g.imds.setFault('credentials-expired'),
    clear,
    check: 'credentials',
    // The ground's STS refuses the expired token (ExpiredToken) and the SDK
    // has extended it: the identity step names the extension, not STS.
    status: 'fail',
    reasons: ['credentials_extended'],
    step: 'identity',
  },
];

matrixTests(
  'STS and credential faults: verdict within the bound, endpoints answering, recovery',
  'sts + credentials matrix',
  () => m,
  cases,
  () => {
    it('rotation on every fetch: the verdict stays pass throughout', async () => {
      const keysBefore = g.keyIds.size;
      g.setRotateEveryFetch(true);
      const verdictsSeen = new Set<string>();
      try {
        await waitUntil(
          'five rotations',
          async () => {
            verdictsSeen.add((await verdicts(s.url)).status);
            return g.keyIds.size >= keysBefore + 5;
          },
          30_000,
        );
      } finally {
        g.setRotateEveryFetch(false);
      }
      addRow('faults', [
        'credentials',
        `rotation on every fetch (${g.keyIds.size - keysBefore} new keys)`,
        'pass throughout',
        [...verdictsSeen].join(', '),
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
      ]);
      expect([...verdictsSeen]).toEqual(['pass']);
    }, 60_000);

    // Regression (see faults-s3.test.ts MEMO, now fixed): the pooled S3 and STS clients
    // keep signing with the first cycle's credentials.
    it('after a rotation, S3 requests are signed with the newly resolved key', async () => {
      g.setRotateEveryFetch(true);
      try {
        // Let the cycle in flight (credentials resolved before the switch) finish.
        const c0 = await cycles(s.url);
        await waitUntil('two more cycles', async () => (await cycles(s.url)) >= c0 + 2, 20_000);
        const put = await g.proxies.s3.next({ method: 'PUT' }, 'request', 20_000);
        // Read in the same tick: the newest key handed out is the one the SDK's
        // chain resolved in this cycle (the imds check's fetch comes before it).
        const newest = [...g.keyIds].at(-1);
        const signedWith = /Credential=([^/]+)\//.exec(String(put.headers.authorization))?.[1];
        expect(signedWith).toBe(newest);
      } finally {
        g.setRotateEveryFetch(false);
      }
    }, 60_000);
  },
);

interface Change {
  check: string;
  to: string;
  reason?: string;
}

function changes(output: string): Change[] {
  const out: Change[] = [];
  for (const line of output.split('\n')) {
    if (!line.includes('"to":')) continue;
    try {
      const o = JSON.parse(line) as Change;
      out.push({ check: o.check, to: o.to, ...(o.reason ? { reason: o.reason } : {}) });
    } catch {
      // not a log line of ours
    }
  }
  return out;
}

describe('clock 20 minutes behind (libfaketime)', () => {
  it("has libfaketime (scripts/install-peers.sh installs Debian's faketime)", () => {
    expect(existsSync(LIBFAKETIME), `${LIBFAKETIME} missing: run scripts/install-peers.sh`).toBe(
      true,
    );
  });
  let skewed: SidecarProcess;
  beforeAll(async () => {
    skewed = spawnSidecar({ ...g.env, ...timingEnv(FAST) }, await freePort(), {
      preload: {
        LD_PRELOAD: LIBFAKETIME,
        FAKETIME: '-20m',
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
        FAKETIME_NO_CACHE: '1',
      },
    });
    await waitListening(skewed);
    // The SDK corrects its clock from the servers' Date headers, so requests
    // fail only at first; then s3 warns clock_skew with the offset.
    await waitUntil(
      's3 warns clock_skew',
      async () => {
        const s3 = (await verdicts(skewed.url)).checks.s3;
        return s3?.status === 'warn' && s3.output?.startsWith('clock_skew') === true;
      },
      30_000,
    );
  }, 60_000);
  afterAll(async () => {
    await skewed?.stop('SIGTERM');
  });

  it('reports the offset after the SDK corrected it, and warns clock_skew', async () => {
    const metrics = (await getText(`${skewed.url}/metrics`)).body;
    const offset = Number(/^s3_health_clock_offset_seconds (\S+)$/m.exec(metrics)?.[1]);
    const seen = changes(skewed.output());
    const skewFailures = Number(
      /^s3_health_check_failures_total\{check="s3",reason="clock_skew"\} (\S+)$/m.exec(
        metrics,
      )?.[1] ?? 0,
    );
    addRow('faults', [
      'clock',
      '20 min behind (libfaketime on the sidecar)',
      'clock_skew (fail, then a warning with the offset)',
      `${seen.map((c) => `${c.check} ${c.to}${c.reason ? `: ${c.reason}` : ''}`).join('; ')}; s3 clock_skew failures: ${skewFailures}`,
      '-',
      '-',
      '-',
      '-',
      '-',
      `offset ${Math.round(offset)} s`,
    ]);
    expect(Math.abs(offset - 1200)).toBeLessThan(120);
    const v = await verdicts(skewed.url);
    expect(v.status).toBe('warn');
    expect(v.checks.s3?.status).toBe('warn');
    // The real radosgw refused the first skewed PUT (RequestTimeTooSkewed);
    // the verdict was already fail (blocked), so it shows in the counter.
    expect(skewFailures).toBeGreaterThanOrEqual(1);
  });

  // Regression (found by this suite, now fixed): AWS STS (and the ground's STS endpoint) answer a skewed
  // request with SignatureDoesNotMatch "Signature expired: …"; classify()
  // maps the name to signature_mismatch, whose fix (check the secret key) is
  // wrong. Fix: when $metadata.clockSkewCorrected is true, or the message
  // starts with "Signature expired", the reason is clock_skew.
  it('the first STS refusal of the skewed clock is named clock_skew', () => {
    const first = changes(skewed.output()).find((c) => c.check === 'credentials');
    expect(first).toEqual({ check: 'credentials', to: 'fail', reason: 'clock_skew' });
  });
});
