import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fromInstanceMetadata } from '@aws-sdk/credential-providers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type EmulatorCreds,
  type ImdsEmulator,
  startImdsEmulator,
} from '../../ground/imds/emulator.ts';
import { GUARD_NODE_ARGS } from '../../ground/shared/network-guard.ts';
import { raw, withImdsEnv } from './imds-sts-helpers.ts';

const TTL = 'X-aws-ec2-metadata-token-ttl-seconds';
const TOKEN = 'X-aws-ec2-metadata-token';
const CREDS_PATH = '/latest/meta-data/iam/security-credentials/s3-health-role';

function silentLogger() {
  const warnings: string[] = [];
  return {
    warnings,
    logger: {
      debug: () => {},
      info: () => {},
      warn: (...args: unknown[]) => {
        warnings.push(args.map(String).join(' '));
      },
      error: () => {},
    },
  };
}

async function token(emu: ImdsEmulator, ttl = '21600'): Promise<string> {
  const res = await raw(`${emu.url}/latest/api/token`, { method: 'PUT', headers: { [TTL]: ttl } });
  expect(res.status).toBe(200);
  return res.body;
}

async function getWithToken(emu: ImdsEmulator, path: string) {
  return raw(`${emu.url}${path}`, { headers: { [TOKEN]: await token(emu) } });
}

function parseJson(body: string): Record<string, unknown> {
  return JSON.parse(body) as Record<string, unknown>;
}

describe('IMDS emulator', () => {
  let emu: ImdsEmulator;

  beforeAll(async () => {
    emu = await startImdsEmulator();
  });
  afterAll(async () => {
    await emu?.close();
  });
  beforeEach(() => {
    emu.setFault('none');
    emu.setTokensRequired(false);
    emu.resetCounters();
  });

  describe('with the real SDK (fromInstanceMetadata)', () => {
    it('gets role credentials over IMDSv2', async () => {
      const creds = await withImdsEnv(emu.url, () => fromInstanceMetadata({ timeout: 1000 })());
      expect(creds.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
      expect(creds.sessionToken).toBeTruthy();
      const hours = ((creds.expiration?.getTime() ?? 0) - Date.now()) / 3_600_000;
      expect(hours).toBeGreaterThan(5.9);
      expect(hours).toBeLessThanOrEqual(6);
      const c = emu.counters();
      expect(c.tokenPuts).toBe(1);
      expect(c.tokenlessGets).toBe(0);
      expect(c.byPath['/latest/meta-data/iam/security-credentials/']).toBe(1);
      expect(c.byPath[CREDS_PATH]).toBe(1);
    });

    it('fails when tokens are required and the token PUT is black-holed', async () => {
      emu.setTokensRequired(true);
      emu.setFault('token-blackhole');
      const err = await withImdsEnv(emu.url, () =>
        fromInstanceMetadata({ timeout: 1000 })().then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      expect(err).toBeInstanceOf(Error);
      expect(err).toMatchObject({ statusCode: 401 });
      expect(emu.counters().tokenPuts).toBe(1);
      expect(emu.counters().tokenlessGets).toBe(1);
    }, 15_000);

    it('falls back to IMDSv1 when tokens are optional and the token PUT is black-holed', async () => {
      emu.setFault('token-blackhole');
      const creds = await withImdsEnv(emu.url, () => fromInstanceMetadata({ timeout: 1000 })());
      expect(creds.accessKeyId).toMatch(/^ASIA/);
      const c = emu.counters();
      expect(c.tokenPuts).toBe(1);
      expect(c.tokenlessGets).toBe(2);
    }, 15_000);

    it('gets a statically-extended credential when IMDS serves expired ones', async () => {
      emu.setFault('credentials-expired', { expiresInSeconds: 600 });
      const { logger, warnings } = silentLogger();
      const creds = await withImdsEnv(emu.url, () =>
        fromInstanceMetadata({ timeout: 1000, logger })(),
      );
      const original = (creds as { originalExpiration?: Date }).originalExpiration;
      expect(original?.getTime()).toBeLessThan(Date.now());
      expect(creds.expiration?.getTime()).toBeGreaterThan(Date.now());
      expect(warnings.join('\n')).toContain('credential expiration extension');
    });

    it('rejects a role-error document (200 with Code != Success)', async () => {
      emu.setFault('role-error');
      await expect(
        withImdsEnv(emu.url, () => fromInstanceMetadata({ timeout: 1000 })()),
      ).rejects.toThrow(/Invalid response received from instance metadata service/);
    });

    it('reports 404 when no role is attached', async () => {
      emu.setFault('no-role');
      await expect(
        withImdsEnv(emu.url, () => fromInstanceMetadata({ timeout: 1000 })()),
      ).rejects.toMatchObject({ statusCode: 404 });
    });
  });

  describe('token endpoint', () => {
    it('grants a token and echoes the TTL', async () => {
      const res = await raw(`${emu.url}/latest/api/token`, {
        method: 'PUT',
        headers: { [TTL]: '21600' },
      });
      expect(res.status).toBe(200);
      expect(res.headers['x-aws-ec2-metadata-token-ttl-seconds']).toBe('21600');
      expect(res.headers['content-type']).toBe('text/plain');
      expect(res.body.length).toBeGreaterThanOrEqual(40);
      expect(await token(emu)).not.toBe(res.body);
    });

    it.each([
      ['missing', undefined],
      ['zero', '0'],
      ['above 21600', '21601'],
      ['not a number', 'abc'],
      ['fractional', '1.5'],
      ['negative', '-5'],
    ])('answers 400 for a TTL that is %s', async (_label, ttl) => {
      const res = await raw(`${emu.url}/latest/api/token`, {
        method: 'PUT',
        headers: ttl === undefined ? {} : { [TTL]: ttl },
      });
      expect(res.status).toBe(400);
      expect(res.body).toContain('<title>400 - Bad Request</title>');
      expect(res.headers['content-type']).toBe('text/plain');
    });

    it('answers 405 to anything but PUT on the token path', async () => {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const res = await raw(`${emu.url}/latest/api/token`, { method, headers: { [TTL]: '60' } });
        expect(res.status, method).toBe(405);
        expect(res.body).toContain('405 - Method Not Allowed');
      }
    });

    it('answers 403 to a token PUT carrying X-Forwarded-For', async () => {
      const res = await raw(`${emu.url}/latest/api/token`, {
        method: 'PUT',
        headers: { [TTL]: '60', 'X-Forwarded-For': '10.0.0.1' },
      });
      expect(res.status).toBe(403);
    });

    it('answers 403 to a PUT on a versioned token path', async () => {
      const res = await raw(`${emu.url}/2021-03-23/api/token`, {
        method: 'PUT',
        headers: { [TTL]: '60' },
      });
      expect(res.status).toBe(403);
    });

    it('refuses an expired token with the 401 page', async () => {
      const t = await token(emu, '1');
      expect(
        (await raw(`${emu.url}/latest/meta-data/instance-id`, { headers: { [TOKEN]: t } })).status,
      ).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      const res = await raw(`${emu.url}/latest/meta-data/instance-id`, { headers: { [TOKEN]: t } });
      expect(res.status).toBe(401);
      expect(res.body).toContain('<title>401 - Unauthorized</title>');
      expect(res.headers['content-type']).toBe('text/plain');
    });

    it('refuses an unknown token even when tokens are optional', async () => {
      const res = await raw(`${emu.url}/latest/meta-data/instance-id`, {
        headers: { [TOKEN]: 'bogus' },
      });
      expect(res.status).toBe(401);
    });

    it('serves tokenless GETs only while tokens are optional', async () => {
      const path = `${emu.url}/latest/meta-data/instance-id`;
      expect((await raw(path)).status).toBe(200);
      emu.setTokensRequired(true);
      const refused = await raw(path);
      expect(refused.status).toBe(401);
      expect(refused.body).toContain('401 - Unauthorized');
      expect((await getWithToken(emu, '/latest/meta-data/instance-id')).status).toBe(200);
      expect(emu.counters().tokenlessGets).toBe(2);
    });
  });

  describe('metadata paths', () => {
    it('serves the identity values', async () => {
      const id = emu.identity;
      expect((await getWithToken(emu, '/latest/meta-data/instance-id')).body).toBe(id.instanceId);
      expect((await getWithToken(emu, '/latest/meta-data/placement/region')).body).toBe(id.region);
      expect((await getWithToken(emu, '/latest/meta-data/placement/availability-zone')).body).toBe(
        id.availabilityZone,
      );
      expect((await getWithToken(emu, '/2021-03-23/meta-data/instance-id')).body).toBe(
        id.instanceId,
      );
    });

    it('lists directories one item per line, sub-directories ending in /', async () => {
      const list = (await getWithToken(emu, '/latest/meta-data/')).body;
      expect(list.split('\n')).toEqual(
        expect.arrayContaining(['iam/', 'placement/', 'instance-id']),
      );
      expect(list).not.toContain('\r');
      expect(list.endsWith('\n')).toBe(false);
      expect((await getWithToken(emu, '/latest/meta-data/iam/')).body).toBe(
        'info\nsecurity-credentials/',
      );
      expect((await getWithToken(emu, '/latest/meta-data/iam/security-credentials/')).body).toBe(
        emu.identity.roleName,
      );
    });

    it('serves iam/info', async () => {
      const res = await getWithToken(emu, '/latest/meta-data/iam/info');
      expect(res.headers['content-type']).toBe('text/plain');
      const info = parseJson(res.body);
      expect(info.Code).toBe('Success');
      expect(info.LastUpdated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(info.InstanceProfileArn).toBe(
        `arn:aws:iam::${emu.identity.accountId}:instance-profile/${emu.identity.roleName}`,
      );
      expect(info.InstanceProfileId).toMatch(/^AIPA[A-Z2-7]{17}$/);
    });

    it('serves role credentials as text/plain JSON', async () => {
      const res = await getWithToken(emu, CREDS_PATH);
      expect(res.headers['content-type']).toBe('text/plain');
      const c = parseJson(res.body);
      expect(c).toMatchObject({ Code: 'Success', Type: 'AWS-HMAC' });
      expect(Object.keys(c).sort()).toEqual(
        [
          'AccessKeyId',
          'Code',
          'Expiration',
          'LastUpdated',
          'SecretAccessKey',
          'Token',
          'Type',
        ].sort(),
      );
      expect(c.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });

    it('serves the instance identity document', async () => {
      const doc = parseJson(
        (await getWithToken(emu, '/latest/dynamic/instance-identity/document')).body,
      );
      expect(doc).toMatchObject({
        accountId: emu.identity.accountId,
        region: emu.identity.region,
        instanceId: emu.identity.instanceId,
        availabilityZone: emu.identity.availabilityZone,
      });
    });

    it('answers 404 with the HTML page for unknown paths', async () => {
      for (const path of [
        '/latest/meta-data/nope',
        '/latest/nope/x',
        '/nope',
        '/latest/meta-data/instance-id/x',
      ]) {
        const res = await getWithToken(emu, path);
        expect(res.status, path).toBe(404);
        expect(res.body).toContain('<title>404 - Not Found</title>');
        expect(res.headers['content-type']).toBe('text/plain');
      }
    });

    it('allows only GET and HEAD for metadata', async () => {
      const t = await token(emu);
      const head = await raw(`${emu.url}/latest/meta-data/instance-id`, {
        method: 'HEAD',
        headers: { [TOKEN]: t },
      });
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
      expect(head.headers['content-length']).toBe(String(emu.identity.instanceId.length));
      for (const method of ['POST', 'DELETE', 'PUT']) {
        const res = await raw(`${emu.url}/latest/meta-data/instance-id`, {
          method,
          headers: { [TOKEN]: t },
        });
        expect(res.status, method).toBe(405);
      }
    });
  });

  describe('fault modes', () => {
    it('disabled: 403 on everything', async () => {
      emu.setFault('disabled');
      expect((await raw(`${emu.url}/latest/meta-data/instance-id`)).status).toBe(403);
      const put = await raw(`${emu.url}/latest/api/token`, {
        method: 'PUT',
        headers: { [TTL]: '60' },
      });
      expect(put.status).toBe(403);
      expect(put.body).toContain('403 - Forbidden');
    });

    it('token-blackhole: PUT never answered, GETs still served', async () => {
      emu.setFault('token-blackhole');
      await expect(
        raw(`${emu.url}/latest/api/token`, {
          method: 'PUT',
          headers: { [TTL]: '60' },
          timeoutMs: 300,
        }),
      ).rejects.toThrow('timeout');
      expect((await raw(`${emu.url}/latest/meta-data/instance-id`)).status).toBe(200);
    });

    it('token-reset: PUT connection reset, GETs still served', async () => {
      emu.setFault('token-reset');
      await expect(
        raw(`${emu.url}/latest/api/token`, { method: 'PUT', headers: { [TTL]: '60' } }),
      ).rejects.toMatchObject({ code: 'ECONNRESET' });
      expect((await raw(`${emu.url}/latest/meta-data/instance-id`)).status).toBe(200);
    });

    it('no-role: 404 on iam/*, iam left out of the listing', async () => {
      emu.setFault('no-role');
      for (const path of [
        '/latest/meta-data/iam/info',
        '/latest/meta-data/iam/security-credentials/',
        CREDS_PATH,
      ]) {
        expect((await getWithToken(emu, path)).status, path).toBe(404);
      }
      expect((await getWithToken(emu, '/latest/meta-data/')).body.split('\n')).not.toContain(
        'iam/',
      );
      expect((await getWithToken(emu, '/latest/meta-data/instance-id')).status).toBe(200);
    });

    it('role-error: 200 with a JSON Code other than Success', async () => {
      emu.setFault('role-error');
      for (const path of ['/latest/meta-data/iam/info', CREDS_PATH]) {
        const res = await getWithToken(emu, path);
        expect(res.status).toBe(200);
        const doc = parseJson(res.body);
        expect(doc.Code).toBe('AssumeRoleUnauthorizedAccess');
        expect(doc.Message).toContain(emu.identity.roleName);
        expect(doc.AccessKeyId).toBeUndefined();
      }
    });

    it('slow: answers after the delay', async () => {
      emu.setFault('slow', { delayMs: 400 });
      await expect(
        raw(`${emu.url}/latest/meta-data/instance-id`, { timeoutMs: 50 }),
      ).rejects.toThrow('timeout');
      const res = await raw(`${emu.url}/latest/meta-data/instance-id`);
      expect(res.status).toBe(200);
      expect(res.body).toBe(emu.identity.instanceId);
    });

    it('throttled: 429 on GET and PUT', async () => {
      emu.setFault('throttled');
      const get = await raw(`${emu.url}/latest/meta-data/instance-id`);
      expect(get.status).toBe(429);
      expect(get.body).toContain('429 - Too Many Requests');
      const put = await raw(`${emu.url}/latest/api/token`, {
        method: 'PUT',
        headers: { [TTL]: '60' },
      });
      expect(put.status).toBe(429);
    });

    it('hang: nothing is answered', async () => {
      emu.setFault('hang');
      await expect(
        raw(`${emu.url}/latest/meta-data/instance-id`, { timeoutMs: 200 }),
      ).rejects.toThrow('timeout');
      await expect(
        raw(`${emu.url}/latest/api/token`, {
          method: 'PUT',
          headers: { [TTL]: '60' },
          timeoutMs: 200,
        }),
      ).rejects.toThrow('timeout');
      expect(emu.counters().gets).toBe(1);
      expect(emu.counters().tokenPuts).toBe(1);
    });

    it('malformed: credentials JSON is truncated', async () => {
      emu.setFault('malformed');
      const res = await getWithToken(emu, CREDS_PATH);
      expect(res.status).toBe(200);
      expect(res.body).toMatch(/^\{/);
      expect(() => JSON.parse(res.body)).toThrow(SyntaxError);
    });

    it('huge-body: the body does not end', async () => {
      emu.setFault('huge-body');
      const res = await raw(`${emu.url}/latest/meta-data/instance-id`, {
        maxBytes: 4 * 1024 * 1024,
      });
      expect(res.status).toBe(200);
      expect(res.truncated).toBe(true);
      expect(res.bytes).toBeGreaterThanOrEqual(4 * 1024 * 1024);
      // The emulator keeps serving other requests afterwards.
      emu.setFault('none');
      expect((await raw(`${emu.url}/latest/meta-data/instance-id`)).body).toBe(
        emu.identity.instanceId,
      );
    });

    it('credentials-expiring: Expiration = now + N s', async () => {
      emu.setFault('credentials-expiring', { expiresInSeconds: 120 });
      const exp = Date.parse(
        String(parseJson((await getWithToken(emu, CREDS_PATH)).body).Expiration),
      );
      const left = (exp - Date.now()) / 1000;
      expect(left).toBeGreaterThan(60);
      expect(left).toBeLessThanOrEqual(120);
    });

    it('credentials-expired: Expiration in the past', async () => {
      emu.setFault('credentials-expired');
      const exp = Date.parse(
        String(parseJson((await getWithToken(emu, CREDS_PATH)).body).Expiration),
      );
      expect(exp).toBeLessThan(Date.now());
    });

    it('rejects an unknown fault name', () => {
      expect(() => emu.setFault('bogus' as 'none')).toThrow(/unknown IMDS fault/);
    });
  });
});

describe('IMDS emulator credentials', () => {
  it('rotates when less than refreshBeforeSeconds remain, as EC2 does', async () => {
    let calls = 0;
    const source = async (): Promise<EmulatorCreds> => {
      calls++;
      return {
        accessKeyId: `ASIATEST${calls}`,
        secretAccessKey: `secret${calls}`,
        sessionToken: `token${calls}`,
        // The first set is already inside the 5-minute window.
        expiration: new Date(Date.now() + (calls === 1 ? 240 : 3600) * 1000),
      };
    };
    const emu = await startImdsEmulator({ credentials: source });
    const seen: string[] = [];
    try {
      emu.onCredentials((c) => seen.push(c.accessKeyId));
      const keys: unknown[] = [];
      for (let i = 0; i < 3; i++)
        keys.push(parseJson((await getWithToken(emu, CREDS_PATH)).body).AccessKeyId);
      expect(keys).toEqual(['ASIATEST1', 'ASIATEST2', 'ASIATEST2']);
      expect(calls).toBe(2);
      expect(seen).toEqual(['ASIATEST1', 'ASIATEST2']);
      const late: string[] = [];
      emu.onCredentials((c) => late.push(c.accessKeyId));
      expect(late).toEqual(['ASIATEST1', 'ASIATEST2']);
    } finally {
      await emu.close();
    }
  });

  it('keeps serving the old credentials when the source fails, 500 when it never worked', async () => {
    let fail = false;
    const source = async (): Promise<EmulatorCreds> => {
      if (fail) throw new Error('source down');
      return {
        accessKeyId: 'ASIAOLD',
        secretAccessKey: 's',
        sessionToken: 't',
        expiration: new Date(Date.now() + 60_000),
      };
    };
    const emu = await startImdsEmulator({ credentials: source });
    const broken = await startImdsEmulator({
      credentials: async () => {
        throw new Error('never');
      },
    });
    try {
      expect(parseJson((await getWithToken(emu, CREDS_PATH)).body).AccessKeyId).toBe('ASIAOLD');
      fail = true;
      expect(parseJson((await getWithToken(emu, CREDS_PATH)).body).AccessKeyId).toBe('ASIAOLD');
      expect((await getWithToken(broken, CREDS_PATH)).status).toBe(500);
    } finally {
      await Promise.all([emu.close(), broken.close()]);
    }
  });

  it('closes held (hung and black-holed) connections on close()', async () => {
    const emu = await startImdsEmulator();
    emu.setFault('hang');
    const pending = raw(`${emu.url}/latest/meta-data/instance-id`);
    const failed = pending.then(
      () => 'answered',
      (e: unknown) => (e as { code?: string }).code ?? 'error',
    );
    await new Promise((r) => setTimeout(r, 100));
    await emu.close();
    expect(await failed).toBe('ECONNRESET');
  });
});

describe('IMDS emulator control server', () => {
  let emu: ImdsEmulator;
  beforeAll(async () => {
    emu = await startImdsEmulator({ controlPort: 0, identity: { region: 'eu-west-1' } });
  });
  afterAll(async () => {
    await emu?.close();
  });

  it('derives the AZ from a given region', () => {
    expect(emu.identity.availabilityZone).toBe('eu-west-1a');
  });

  it('runs on its own port and switches faults, tokens and counters', async () => {
    const control = emu.controlUrl ?? '';
    expect(control).not.toBe('');
    expect(control).not.toBe(emu.url);
    expect((await raw(`${emu.url}/fault/throttled`, { method: 'PUT' })).status).toBe(405);

    const set = await raw(`${control}/fault/slow?delayMs=10`, { method: 'PUT' });
    expect(set.status).toBe(200);
    expect(parseJson(set.body)).toMatchObject({ fault: 'slow', delayMs: 10 });
    expect(emu.state().fault).toBe('slow');

    expect((await raw(`${control}/fault/throttled`, { method: 'PUT' })).status).toBe(200);
    expect((await raw(`${emu.url}/latest/meta-data/instance-id`)).status).toBe(429);
    expect((await raw(`${control}/fault/none`, { method: 'PUT' })).status).toBe(200);

    expect((await raw(`${control}/tokens-required/true`, { method: 'PUT' })).status).toBe(200);
    expect((await raw(`${emu.url}/latest/meta-data/instance-id`)).status).toBe(401);
    expect((await raw(`${control}/tokens-required/false`, { method: 'PUT' })).status).toBe(200);
    expect((await raw(`${emu.url}/latest/meta-data/instance-id`)).status).toBe(200);

    const counters = parseJson((await raw(`${control}/counters`)).body);
    expect(counters.gets).toBe(3);
    expect(counters.tokenlessGets).toBe(3);
    expect(counters.byPath).toEqual({ '/latest/meta-data/instance-id': 3 });
    expect(parseJson((await raw(`${control}/counters/reset`, { method: 'PUT' })).body).gets).toBe(
      0,
    );

    expect((await raw(`${control}/fault/bogus`, { method: 'PUT' })).status).toBe(400);
    expect((await raw(`${control}/tokens-required/maybe`, { method: 'PUT' })).status).toBe(400);
    expect((await raw(`${control}/nope`)).status).toBe(404);
  });
});

describe('IMDS emulator CLI', () => {
  let dir = '';
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imds-cli-'));
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  const writeCreds = (file: string, key: string) =>
    writeFile(
      file,
      JSON.stringify({
        AccessKeyId: key,
        SecretAccessKey: 'secret',
        SessionToken: 'token',
        // Inside the refresh window, so the emulator re-reads the file on each request.
        Expiration: new Date(Date.now() + 240_000).toISOString(),
      }),
    );

  it('prints its URL, serves a creds file it re-reads, and exits 0 on SIGTERM', async () => {
    const file = join(dir, 'creds.json');
    await writeCreds(file, 'ASIAFILEONE');
    child = spawn(
      process.execPath,
      [
        ...GUARD_NODE_ARGS,
        'ground/imds/emulator.ts',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--control-port',
        '0',
        '--tokens-required',
        '--identity-json',
        JSON.stringify({ roleName: 'cli-role', instanceId: 'i-0cli' }),
        '--creds-file',
        file,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const proc = child;
    const stdout = proc.stdout;
    if (!stdout) throw new Error('no stdout');
    const exited = new Promise<number | null>((resolve) =>
      proc.once('exit', (code) => resolve(code)),
    );
    const firstLine = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: stdout });
      rl.once('line', (l) => {
        rl.close();
        resolve(l);
      });
      proc.once('exit', (code) => reject(new Error(`emulator exited early (${code})`)));
    });
    const started = parseJson(firstLine) as { url: string; controlUrl: string };
    expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(started.controlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const cliEmu = { url: started.url } as ImdsEmulator;
    expect((await raw(`${started.url}/latest/meta-data/instance-id`)).status).toBe(401);
    expect((await getWithToken(cliEmu, '/latest/meta-data/instance-id')).body).toBe('i-0cli');
    const credsPath = '/latest/meta-data/iam/security-credentials/cli-role';
    expect(parseJson((await getWithToken(cliEmu, credsPath)).body).AccessKeyId).toBe('ASIAFILEONE');
    await writeCreds(file, 'ASIAFILETWO');
    expect(parseJson((await getWithToken(cliEmu, credsPath)).body).AccessKeyId).toBe('ASIAFILETWO');

    expect((await raw(`${started.controlUrl}/fault/no-role`, { method: 'PUT' })).status).toBe(200);
    expect((await getWithToken(cliEmu, credsPath)).status).toBe(404);

    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 20_000);
});
