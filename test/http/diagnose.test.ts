// GET /diagnose against the real ground: each cause the ground can produce is
// injected, and the report must name it first and carry the fix with the
// ground's real ids. Plus: token guard, shared runs, deadlines, and a secret
// scan over every output the service has.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { GROUND_IDENTITY, type Ground, startGround } from '../../ground/ground.ts';
import { denyActions } from '../../ground/radosgw/info.ts';
import { createService, type Service } from '../../src/service.ts';
import { clearEnv, listenLocal, useEnv } from '../support/sidecar.ts';

const rgw = inject('rgw');
const TOKEN = 'diagnose-token-0123456789';
const logs: string[] = [];
const secrets = new Set<string>();
let ground: Ground;

interface Running {
  svc: Service;
  url: string;
}

/** Each check's deadline, as configured below. */
const TIMEOUT_MS = 2000;
/** environment (always runs) + the default S3_HEALTH_CHECKS=imds,credentials,s3 (SPEC). */
const CHECKS = 4;
/** S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS where a test needs several live runs. */
const SPACING_S = 1;

async function serve(env: Record<string, string>): Promise<Running> {
  const config = useEnv({
    S3_HEALTH_TIMEOUT_SECONDS: String(TIMEOUT_MS / 1000),
    S3_HEALTH_INTERVAL_SECONDS: '60',
    ...env,
  });
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const svc = createService(config, pino({ level: 'trace' }, sink), 'test');
  return { svc, url: await listenLocal(svc) };
}

async function diagnoseText(
  env: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const r = await serve(env);
  try {
    const res = await fetch(`${r.url}/diagnose`);
    return { status: res.status, text: await res.text() };
  } finally {
    await r.svc.stop();
  }
}

function track(g: Ground): Ground {
  g.imds.onCredentials((c) => {
    secrets.add(c.secretAccessKey);
    secrets.add(c.sessionToken);
  });
  return g;
}

beforeAll(async () => {
  ground = track(await startGround(rgw));
});
afterAll(async () => {
  await ground?.close();
  // The secret scan covers every log line any test in this file produced.
  const all = logs.join('');
  expect(secrets.size).toBeGreaterThan(0);
  for (const s of secrets) expect(all.includes(s), 'a secret reached the logs').toBe(false);
  expect(all.includes(TOKEN), 'the diagnose token reached the logs').toBe(false);
});

const { instanceId, region, roleName, accountId } = GROUND_IDENTITY;

describe('the report names the cause first and fills the fix with real ids', () => {
  it('hop limit 1, tokens optional: warn, modify-instance-metadata-options with the instance id', async () => {
    ground.imds.setFault('token-blackhole');
    try {
      const { status, text } = await diagnoseText(ground.env);
      expect(status).toBe(200);
      expect(text.split('\n')[0]).toMatch(/^WARN/);
      expect(text.split('\n')[0]).toMatch(/imds/);
      expect(text).toContain(`--instance-id ${instanceId} --region ${region}`);
      expect(text).toContain('--http-put-response-hop-limit 2');
    } finally {
      ground.imds.setFault('none');
    }
  });

  it('hop limit 1, tokens required: fail with the same fix and blocked checks', async () => {
    ground.imds.setFault('token-blackhole');
    ground.imds.setTokensRequired(true);
    try {
      const { status, text } = await diagnoseText(ground.env);
      expect(status).toBe(503);
      expect(text.split('\n')[0]).toMatch(/^FAIL/);
      expect(text).toContain('imds_hop_limit_tokens_required');
      // Nothing could be learned from IMDS: the placeholder stays, never a guess.
      expect(text).toContain('--instance-id <INSTANCE_ID>');
      expect(text).toMatch(/credentials.*blocked by imds/);
    } finally {
      ground.imds.setFault('none');
      ground.imds.setTokensRequired(false);
    }
  });

  it.each([
    ['no-role', 'imds_no_role'],
    ['disabled', 'imds_disabled'],
  ] as const)('IMDS %s -> %s with the instance id', async (fault, reason) => {
    ground.imds.setFault(fault);
    try {
      const { status, text } = await diagnoseText(ground.env);
      expect(status).toBe(503);
      expect(text.split('\n').slice(0, 3).join('\n')).toContain('imds');
      expect(text).toContain(reason);
      expect(text).toContain(fault === 'no-role' ? instanceId : '<INSTANCE_ID>');
    } finally {
      ground.imds.setFault('none');
    }
  });

  it.each([
    ['s3:PutObject', 'put'],
    ['s3:GetObject', 'head'],
    ['s3:DeleteObject', 'delete'],
  ])(
    'AccessDenied on %s: the exact statement for the role, bucket and prefix',
    async (action, step) => {
      const denied = track(await startGround(rgw, { sessionPolicy: denyActions([action]) }));
      try {
        const { status, text } = await diagnoseText(denied.env);
        expect(status).toBe(503);
        expect(text.split('\n')[0]).toContain(`s3 ${step}`);
        expect(text).toMatch(new RegExp(`"Action": \\[\\s*"${action}"\\s*\\]`));
        expect(text).toContain(`arn:aws:s3:::${denied.bucket}/healthcheck/*`);
        expect(text).toContain(`--role-name ${roleName}`);
      } finally {
        await denied.close();
      }
    },
  );

  it('unknown KMS key: kms_key_not_found naming the key', async () => {
    const { text } = await diagnoseText({
      ...ground.env,
      S3_HEALTH_SSE: 'aws:kms',
      S3_HEALTH_KMS_KEY_ID: 'no-such-key',
    });
    clearEnv(['S3_HEALTH_SSE', 'S3_HEALTH_KMS_KEY_ID']);
    expect(text).toContain('kms_key_not_found');
    expect(text).toContain('no-such-key');
  });

  it('missing bucket: s3_no_such_bucket with the account', async () => {
    const { text } = await diagnoseText({ ...ground.env, S3_HEALTH_BUCKET: 'no-such-bucket-s3h' });
    expect(text.split('\n')[0]).toContain('s3 put');
    expect(text).toContain('s3_no_such_bucket');
    expect(text).toContain('no-such-bucket-s3h');
    expect(text).toContain(accountId);
  });

  it('proxy without NO_PROXY and static keys are linted with their fixes', async () => {
    const { text } = await diagnoseText({
      ...ground.env,
      HTTPS_PROXY: 'http://user:hunter2@proxy.internal:3128',
      NO_PROXY: 'localhost',
    });
    clearEnv(['HTTPS_PROXY', 'NO_PROXY']);
    // The app's IMDS here is the emulator on 127.0.0.1, which NO_PROXY lacks.
    expect(text).toContain('env_proxy_without_no_proxy');
    expect(text).toContain('NO_PROXY lacks 127.0.0.1');
    // S3 and STS (127.0.0.2) go to the proxy, which does not resolve: named, masked.
    expect(text).toContain('proxy_unreachable');
    expect(text).toContain('http://***@proxy.internal:3128');
    expect(text).not.toContain('hunter2');
  });

  it('AWS_EC2_METADATA_DISABLED=true: the environment names it', async () => {
    const { text } = await diagnoseText({ ...ground.env, AWS_EC2_METADATA_DISABLED: 'true' });
    clearEnv(['AWS_EC2_METADATA_DISABLED']);
    expect(text).toContain('env_imds_disabled');
  });

  it('credentials expiring: the report says when', async () => {
    ground.imds.setFault('credentials-expiring', { expiresInSeconds: 120 });
    try {
      const { text } = await diagnoseText(ground.env);
      expect(text).toContain('credentials_expiring');
    } finally {
      ground.imds.setFault('none');
    }
  });
});

it('ids learned by earlier cycles fill a report whose run could not learn them', async () => {
  const r = await serve(ground.env);
  try {
    r.svc.scheduler.start();
    while (r.svc.store.cycles < 1) await new Promise((x) => setTimeout(x, 20));
    ground.imds.setFault('token-blackhole');
    ground.imds.setTokensRequired(true);
    const text = await (await fetch(`${r.url}/diagnose`)).text();
    expect(text).toContain('imds_hop_limit_tokens_required');
    expect(text).toContain(`--instance-id ${instanceId} --region ${region}`);
  } finally {
    ground.imds.setFault('none');
    ground.imds.setTokensRequired(false);
    await r.svc.stop();
  }
});

describe('the endpoint itself', () => {
  let r: Running;
  beforeAll(async () => {
    r = await serve({
      ...ground.env,
      S3_HEALTH_DIAGNOSE_TOKEN: TOKEN,
      S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS: String(SPACING_S),
    });
  });
  afterAll(async () => {
    clearEnv(['S3_HEALTH_DIAGNOSE_TOKEN', 'S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS']);
    await r.svc.stop();
  });
  // Live runs are spaced: a test that needs one waits out the window first.
  beforeEach(() => new Promise((ok) => setTimeout(ok, SPACING_S * 1000 + 50)));

  it('needs the bearer token when one is configured', async () => {
    expect((await fetch(`${r.url}/diagnose`)).status).toBe(401);
    const wrong = await fetch(`${r.url}/diagnose`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${r.url}/diagnose`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^PASS/);
  });

  it('takes the token as the password of HTTP Basic, and asks a browser for it', async () => {
    const browser = { accept: 'text/html,application/xhtml+xml' };
    const denied = await fetch(`${r.url}/diagnose`, { headers: browser });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Basic realm="s3-health"/);
    const basic = `Basic ${Buffer.from(`oncall:${TOKEN}`).toString('base64')}`;
    const ok = await fetch(`${r.url}/diagnose`, { headers: { ...browser, authorization: basic } });
    expect(ok.status).toBe(200);
    const wrong = `Basic ${Buffer.from('oncall:nope').toString('base64')}`;
    expect((await fetch(`${r.url}/diagnose`, { headers: { authorization: wrong } })).status).toBe(
      401,
    );
  });

  it('answers JSON with ?format=json or Accept, carrying request ids', async () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    const a = await fetch(`${r.url}/diagnose?format=json`, { headers });
    const b = await fetch(`${r.url}/diagnose`, {
      headers: { ...headers, accept: 'application/json' },
    });
    for (const res of [a, b]) expect(res.headers.get('content-type')).toContain('application/json');
    const doc = (await a.json()) as { status: string; checks: { check: string }[] };
    expect(doc.status).toBe('pass');
    expect(doc.checks.map((c) => c.check)).toEqual(['environment', 'imds', 'credentials', 's3']);
    expect(JSON.stringify(doc)).toMatch(/"requestId":"tx0/);
  });

  it('shares one run between concurrent callers', async () => {
    ground.imds.resetCounters();
    const headers = { authorization: `Bearer ${TOKEN}` };
    const all = await Promise.all(
      Array.from({ length: 5 }, () => fetch(`${r.url}/diagnose?format=json`, { headers })),
    );
    const starts = await Promise.all(
      all.map(async (x) => ((await x.json()) as { startedAt: string }).startedAt),
    );
    expect(new Set(starts).size).toBe(1);
    expect(ground.imds.counters().byPath['/latest/meta-data/instance-id']).toBe(1);
  });

  it('finishes within its deadline when IMDS hangs, saying which step hung', async () => {
    ground.imds.setFault('hang');
    try {
      const t0 = Date.now();
      const res = await fetch(`${r.url}/diagnose?format=json`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const doc = (await res.json()) as { deadlineMs: number; timedOut: boolean };
      const elapsed = Date.now() - t0;
      expect(res.status).toBe(503);
      // Bounds stated from the configuration, not read back from the report:
      // the report's deadline is every check's in turn ...
      expect(doc.deadlineMs).toBe(CHECKS * TIMEOUT_MS);
      expect(elapsed).toBeLessThan(CHECKS * TIMEOUT_MS);
      // ... and with IMDS hanging the chain stops at the imds check, which
      // waits out its own deadline and no more (the rest are blocked).
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(elapsed).toBeLessThan(TIMEOUT_MS + 1500);
      expect(doc.timedOut).toBe(true);
      expect(JSON.stringify(doc)).toContain('imds_timeout');
    } finally {
      ground.imds.setFault('none');
    }
  });

  it('never shows a secret: /diagnose, /, /metrics, /healthz scanned', async () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    const bodies = await Promise.all(
      ['/diagnose', '/diagnose?format=json', '/', '/metrics', '/healthz', '/healthz?verbose'].map(
        async (p) => (await fetch(`${r.url}${p}`, { headers })).text(),
      ),
    );
    expect(secrets.size).toBeGreaterThan(0);
    for (const body of bodies) {
      for (const s of secrets) expect(body.includes(s)).toBe(false);
      expect(body.includes(TOKEN)).toBe(false);
    }
  });
});

/** The audit lines (one per /diagnose call or refusal) logged since `from`. */
function auditLines(
  from: number,
): { remote: string; status: number; delivery: string; durationMs: number }[] {
  return logs
    .slice(from)
    .map(
      (l) =>
        JSON.parse(l) as {
          audit?: string;
          remote: string;
          status: number;
          delivery: string;
          durationMs: number;
        },
    )
    .filter((l) => l.audit === '/diagnose');
}

describe('spacing: at most one live run per S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS', () => {
  const WINDOW_S = 5;
  let r: Running;
  beforeAll(async () => {
    r = await serve({ ...ground.env, S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS: String(WINDOW_S) });
  });
  afterAll(async () => {
    clearEnv(['S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS']);
    await r.svc.stop();
  });

  it('callers inside the window get the last live report with its age; one run at IMDS', async () => {
    ground.imds.resetCounters();
    const from = logs.length;
    const t0 = Date.now();
    const first = await fetch(`${r.url}/diagnose`);
    const live = await first.text();
    expect(first.status).toBe(200);
    expect(first.headers.get('age')).toBeNull();
    expect(live.split('\n')[1]).not.toMatch(/^cached/);
    // Back to back for the rest of the window (less a margin for the last call).
    const texts: Response[] = [];
    const jsons: Response[] = [];
    while (Date.now() - t0 < WINDOW_S * 1000 - 2500) {
      texts.push(await fetch(`${r.url}/diagnose`));
      jsons.push(await fetch(`${r.url}/diagnose?format=json`));
      // Two calls per 300 ms stay within the log budget (8 caller lines a
      // second), so every call has its line here; test/http/caller-log.test.ts floods it.
      await new Promise((ok) => setTimeout(ok, 300));
    }
    expect(texts.length).toBeGreaterThan(3);
    for (const res of texts) {
      expect(res.status).toBe(200);
      const age = Number(res.headers.get('age'));
      expect(Number.isInteger(age) && age >= 0 && age < WINDOW_S).toBe(true);
      const lines = (await res.text()).split('\n');
      expect(lines[0]).toBe(live.split('\n')[0]);
      expect(lines[1]).toBe(
        `cached: measured ${age} s ago (live runs at most once per ${WINDOW_S} s)`,
      );
    }
    for (const res of jsons) {
      const doc = (await res.json()) as { cachedAgeSeconds?: number; startedAt: string };
      expect(doc.cachedAgeSeconds).toBe(Number(res.headers.get('age')));
    }
    // One live run: IMDS saw one instance-id request, not one a call.
    expect(ground.imds.counters().byPath['/latest/meta-data/instance-id']).toBe(1);
    const audit = auditLines(from);
    expect(audit).toHaveLength(1 + texts.length + jsons.length);
    expect(audit[0]).toMatchObject({ remote: '127.0.0.1', status: 200, delivery: 'live' });
    expect(audit.slice(1).every((a) => a.delivery === 'cached' && a.status === 200)).toBe(true);
    for (const a of audit) expect(a.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('after the window the next call runs live again', async () => {
    await new Promise((ok) => setTimeout(ok, WINDOW_S * 1000));
    ground.imds.resetCounters();
    const res = await fetch(`${r.url}/diagnose?format=json`);
    const doc = (await res.json()) as { cachedAgeSeconds?: number };
    expect(res.headers.get('age')).toBeNull();
    expect(doc.cachedAgeSeconds).toBeUndefined();
    expect(ground.imds.counters().byPath['/latest/meta-data/instance-id']).toBe(1);
  });
});

describe('with a token set: audit of refusals, no identity without it', () => {
  let r: Running;
  beforeAll(async () => {
    r = await serve({
      ...ground.env,
      S3_HEALTH_DIAGNOSE_TOKEN: TOKEN,
      S3_HEALTH_INTERVAL_SECONDS: '2',
    });
    r.svc.scheduler.start();
    while (r.svc.store.cycles < 1) await new Promise((x) => setTimeout(x, 20));
  });
  afterAll(async () => {
    clearEnv(['S3_HEALTH_DIAGNOSE_TOKEN', 'S3_HEALTH_INTERVAL_SECONDS']);
    await r.svc.stop();
  });

  it('every 401 is one audit line, without the token', async () => {
    const from = logs.length;
    await fetch(`${r.url}/diagnose`);
    await fetch(`${r.url}/diagnose`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    const audit = auditLines(from);
    expect(audit).toHaveLength(2);
    for (const a of audit)
      expect(a).toMatchObject({ status: 401, delivery: 'unauthorised', remote: '127.0.0.1' });
    expect(logs.slice(from).join('')).not.toContain(TOKEN);
  });

  it("the status page's login 401 is an audit line too", async () => {
    const from = logs.length;
    const res = await fetch(`${r.url}/?login`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="s3-health"/);
    const lines = logs
      .slice(from)
      .map((l) => JSON.parse(l) as { audit?: string; status?: number; delivery?: string });
    expect(lines.filter((l) => l.audit === '/')).toEqual([
      expect.objectContaining({ status: 401, delivery: 'unauthorised' }),
    ]);
  });

  const ids = [instanceId, accountId, roleName];

  it('/ shows verdicts and reasons but no identity and no step detail without the token', async () => {
    const res = await fetch(`${r.url}/`);
    const body = await res.text();
    for (const id of ids) expect(body, id).not.toContain(id);
    const doc = JSON.parse(body) as Record<string, unknown> & {
      health: { checks: Record<string, { status: string }[]> };
    };
    // Every check's verdict is there.
    expect(Object.keys(doc.health.checks)).toEqual([
      'environment:lint',
      'imds:responseTime',
      'credentials:timeToExpiry',
      's3:roundtrip',
    ]);
    expect(doc).not.toHaveProperty('lastResults');
    expect(doc.identity).toMatch(/hidden/);
    const basic = `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`;
    for (const authorization of [`Bearer ${TOKEN}`, basic]) {
      const full = await (await fetch(`${r.url}/`, { headers: { authorization } })).text();
      for (const id of ids) expect(full, id).toContain(id);
      expect(JSON.parse(full)).toHaveProperty('lastResults');
    }
  });

  it('/metrics hides role and account without the token, shows them to a scrape that carries it', async () => {
    const targetInfo = (body: string) =>
      body.split('\n').filter((l) => l.startsWith('s3_health_target_info'));
    const open = await (await fetch(`${r.url}/metrics`)).text();
    for (const id of ids) expect(open, id).not.toContain(id);
    expect(targetInfo(open)).toEqual([
      `s3_health_target_info{bucket="${ground.bucket}",region="${region}",role="",account="",source="imds"} 1`,
    ]);
    // The verdict series are the same for both.
    expect(open).toMatch(/^s3_health_up 1$/m);
    const basic = `Basic ${Buffer.from(`prometheus:${TOKEN}`).toString('base64')}`;
    for (const authorization of [`Bearer ${TOKEN}`, basic]) {
      const full = await (await fetch(`${r.url}/metrics`, { headers: { authorization } })).text();
      expect(targetInfo(full)).toEqual([
        `s3_health_target_info{bucket="${ground.bucket}",region="${region}",role="${roleName}",account="${accountId}",source="imds"} 1`,
      ]);
    }
    // A wrong token is a scrape without one.
    const wrong = await (
      await fetch(`${r.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } })
    ).text();
    expect(targetInfo(wrong)).toEqual(targetInfo(open));
  });

  it('?verbose and /healthz name the reason but not the account, role or instance', async () => {
    // A wrong role: the check's output names the caller's ARN (account, role, instance).
    const w = await serve({
      ...ground.env,
      S3_HEALTH_DIAGNOSE_TOKEN: TOKEN,
      S3_HEALTH_EXPECTED_ROLE: 'some-other-role',
    });
    try {
      w.svc.scheduler.start();
      const auth = { authorization: `Bearer ${TOKEN}` };
      const deadline = Date.now() + 15_000;
      let withToken = '';
      while (Date.now() < deadline && !withToken.includes('credentials_wrong_role')) {
        await new Promise((x) => setTimeout(x, 100));
        withToken = await (await fetch(`${w.url}/healthz?verbose`, { headers: auth })).text();
      }
      // The token shows what the output names ...
      expect(withToken).toContain(
        `arn:aws:sts::${accountId}:assumed-role/${roleName}/${instanceId}`,
      );
      // ... and without it the same verdicts and reasons, the ids replaced.
      const verbose = await (await fetch(`${w.url}/healthz?verbose`)).text();
      const json = await (await fetch(`${w.url}/healthz`)).text();
      expect(verbose).toContain('[-]credentials failed: credentials_wrong_role (');
      expect(verbose).toContain('caller is <ARN>, expected role <ROLE_NAME>');
      expect(json).toContain('credentials_wrong_role');
      for (const body of [verbose, json]) {
        for (const id of [...ids, 'some-other-role']) expect(body, id).not.toContain(id);
      }
    } finally {
      clearEnv(['S3_HEALTH_EXPECTED_ROLE']);
      await w.svc.stop();
    }
  });
});
