import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromInstanceMetadata } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ImdsEmulator, startImdsEmulator } from '../../ground/imds/emulator.ts';
import { instanceRoleIdentity, linkImdsToSts } from '../../ground/imds/sts-link.ts';
import { type StsEndpoint, startStsEndpoint } from '../../ground/sts/endpoint.ts';
import { NodeSha256, parseAuthorization } from '../../ground/sts/sigv4.ts';
import { raw, withImdsEnv } from './imds-sts-helpers.ts';

const STATIC = {
  accessKeyId: 'AKIASTATICEXAMPLE001',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const USER = {
  account: '111122223333',
  arn: 'arn:aws:iam::111122223333:user/probe',
  userId: 'AIDASTATICEXAMPLE0001',
};

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

function client(sts: StsEndpoint, credentials: Creds): STSClient {
  return new STSClient({ region: 'us-east-1', endpoint: sts.url, credentials, maxAttempts: 1 });
}

async function callerError(sts: StsEndpoint, credentials: Creds) {
  try {
    await client(sts, credentials).send(new GetCallerIdentityCommand({}));
  } catch (err) {
    const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, code: e.code, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected GetCallerIdentity to fail');
}

async function signedGet(sts: StsEndpoint, creds: Creds, region = 'us-east-1') {
  const url = new URL(sts.url);
  const signer = new SignatureV4({
    service: 'sts',
    region,
    credentials: creds,
    sha256: NodeSha256,
  });
  const signed = await signer.sign({
    method: 'GET',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: url.host },
  });
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k] = String(v);
  return raw(`${sts.url}/?Action=GetCallerIdentity&Version=2011-06-15`, { headers });
}

describe('STS endpoint', () => {
  let sts: StsEndpoint;
  const saved = process.env.AWS_EC2_METADATA_DISABLED;

  beforeAll(async () => {
    // Explicit credentials only; make sure nothing falls back to the real IMDS.
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    sts = await startStsEndpoint();
    sts.register(STATIC.accessKeyId, { ...USER, secretAccessKey: STATIC.secretAccessKey });
  });
  afterAll(async () => {
    await sts?.close();
    if (saved === undefined) delete process.env.AWS_EC2_METADATA_DISABLED;
    else process.env.AWS_EC2_METADATA_DISABLED = saved;
  });
  beforeEach(() => {
    sts.setFault('none');
  });

  it('answers GetCallerIdentity for a registered static key (real SDK, form POST)', async () => {
    const before = sts.calls();
    const out = await client(sts, STATIC).send(new GetCallerIdentityCommand({}));
    expect(out).toMatchObject({ Account: USER.account, Arn: USER.arn, UserId: USER.userId });
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sts.calls()).toBe(before + 1);
  });

  it('answers the query (GET) form with the real XML shape', async () => {
    const res = await signedGet(sts, STATIC);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/xml');
    const requestId = res.headers['x-amzn-requestid'];
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body).toContain(
      '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">',
    );
    expect(res.body).toMatch(
      /<GetCallerIdentityResult>\s*<Arn>arn:aws:iam::111122223333:user\/probe<\/Arn>\s*<UserId>AIDASTATICEXAMPLE0001<\/UserId>\s*<Account>111122223333<\/Account>/,
    );
    expect(res.body).toContain(`<RequestId>${String(requestId)}</RequestId>`);
  });

  it('unknown access key → 403 InvalidClientTokenId', async () => {
    const e = await callerError(sts, { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' });
    expect(e).toMatchObject({ name: 'InvalidClientTokenId', status: 403 });
  });

  it('wrong secret → 403 SignatureDoesNotMatch', async () => {
    const e = await callerError(sts, { ...STATIC, secretAccessKey: 'not-the-secret' });
    expect(e).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    const res = await signedGet(sts, { ...STATIC, secretAccessKey: 'not-the-secret' });
    expect(res.status).toBe(403);
    expect(res.body).toMatch(
      /<ErrorResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/">\s*<Error>\s*<Type>Sender<\/Type>\s*<Code>SignatureDoesNotMatch<\/Code>\s*<Message>[^<]+<\/Message>\s*<\/Error>\s*<RequestId>[0-9a-f-]{36}<\/RequestId>/,
    );
  });

  it('a static key sent with a session token → 403 InvalidClientTokenId', async () => {
    const e = await callerError(sts, { ...STATIC, sessionToken: 'stray' });
    expect(e).toMatchObject({ name: 'InvalidClientTokenId', status: 403 });
  });

  it('temporary credentials: token must match, and must not be expired', async () => {
    const temp = {
      accessKeyId: 'ASIATEMPEXAMPLE00001',
      secretAccessKey: 'tempsecret',
      sessionToken: 'tok-1',
    };
    sts.register(temp.accessKeyId, {
      ...USER,
      secretAccessKey: temp.secretAccessKey,
      sessionToken: temp.sessionToken,
      expiration: new Date(Date.now() + 3_600_000),
    });
    expect((await client(sts, temp).send(new GetCallerIdentityCommand({}))).Arn).toBe(USER.arn);
    expect(await callerError(sts, { ...temp, sessionToken: 'tok-2' })).toMatchObject({
      name: 'InvalidClientTokenId',
      status: 403,
    });
    expect(
      await callerError(sts, {
        accessKeyId: temp.accessKeyId,
        secretAccessKey: temp.secretAccessKey,
      }),
    ).toMatchObject({ name: 'InvalidClientTokenId', status: 403 });

    const old = {
      accessKeyId: 'ASIAEXPIREDEXAMPLE01',
      secretAccessKey: 'oldsecret',
      sessionToken: 'tok-old',
    };
    sts.register(old.accessKeyId, {
      ...USER,
      secretAccessKey: old.secretAccessKey,
      sessionToken: old.sessionToken,
      expiration: new Date(Date.now() - 1000),
    });
    expect(await callerError(sts, old)).toMatchObject({ name: 'ExpiredToken', status: 400 });
  });

  it('skips signature checks for identities registered without a secret', async () => {
    sts.register('AKIANOSECRETEXAMPLE1', USER);
    const out = await client(sts, {
      accessKeyId: 'AKIANOSECRETEXAMPLE1',
      secretAccessKey: 'anything',
    }).send(new GetCallerIdentityCommand({}));
    expect(out.Account).toBe(USER.account);
  });

  it('missing authentication → 403 MissingAuthenticationToken; other actions → 400 InvalidAction', async () => {
    const res = await raw(`${sts.url}/?Action=GetCallerIdentity&Version=2011-06-15`);
    expect(res.status).toBe(403);
    expect(res.body).toContain('<Code>MissingAuthenticationToken</Code>');
    const url = new URL(sts.url);
    const signer = new SignatureV4({
      service: 'sts',
      region: 'us-east-1',
      credentials: STATIC,
      sha256: NodeSha256,
    });
    const body = 'Action=AssumeRole&Version=2011-06-15';
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      query: {},
      headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(signed.headers)) headers[k] = String(v);
    const other = await raw(`${sts.url}/`, { method: 'POST', headers, body });
    expect(other.status).toBe(400);
    expect(other.body).toContain('<Code>InvalidAction</Code>');
  });

  it('parses SigV4 authorization headers', () => {
    const sig = 'a'.repeat(64);
    expect(
      parseAuthorization(
        `AWS4-HMAC-SHA256 Credential=AKID/20250102/eu-west-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=${sig}`,
      ),
    ).toEqual({
      accessKeyId: 'AKID',
      scopeDate: '20250102',
      region: 'eu-west-1',
      service: 'sts',
      signedHeaders: ['host', 'x-amz-date'],
      signature: sig,
    });
    expect(parseAuthorization('Bearer x')).toBeUndefined();
  });

  describe('faults', () => {
    it('reset: connection reset', async () => {
      sts.setFault('reset');
      await expect(signedGet(sts, STATIC)).rejects.toMatchObject({ code: 'ECONNRESET' });
      const e = await callerError(sts, STATIC);
      expect(e.status).toBeUndefined();
    });

    it('error500: 500 InternalFailure', async () => {
      sts.setFault('error500');
      const res = await signedGet(sts, STATIC);
      expect(res.status).toBe(500);
      expect(res.body).toContain('<Code>InternalFailure</Code>');
      expect(await callerError(sts, STATIC)).toMatchObject({ status: 500 });
    });

    it('hang: never answers', async () => {
      sts.setFault('hang');
      await expect(
        raw(`${sts.url}/?Action=GetCallerIdentity&Version=2011-06-15`, { timeoutMs: 200 }),
      ).rejects.toThrow('timeout');
    });

    it('slow: answers after the delay', async () => {
      sts.setFault('slow', { delayMs: 300 });
      await expect(
        raw(`${sts.url}/?Action=GetCallerIdentity&Version=2011-06-15`, { timeoutMs: 50 }),
      ).rejects.toThrow('timeout');
      expect((await signedGet(sts, STATIC)).status).toBe(200);
    });
  });
});

describe('IMDS emulator credentials verified by the STS endpoint', () => {
  let imds: ImdsEmulator;
  let sts: StsEndpoint;
  beforeAll(async () => {
    imds = await startImdsEmulator({
      identity: { accountId: '444455556666', roleName: 'probe-role' },
    });
    sts = await startStsEndpoint();
    linkImdsToSts(imds, sts);
  });
  afterAll(async () => {
    await Promise.all([imds?.close(), sts?.close()]);
  });

  it('answers with the assumed-role ARN for credentials fetched through the SDK', async () => {
    const creds = await withImdsEnv(imds.url, () => fromInstanceMetadata({ timeout: 1000 })());
    const out = await client(sts, creds).send(new GetCallerIdentityCommand({}));
    const expected = instanceRoleIdentity(imds.identity);
    expect(out.Account).toBe('444455556666');
    expect(out.Arn).toBe(
      `arn:aws:sts::444455556666:assumed-role/probe-role/${imds.identity.instanceId}`,
    );
    expect(out.UserId).toBe(expected.userId);
    expect(out.UserId).toMatch(/^AROA[A-Z2-7]{17}:i-/);
  });

  it('answers ExpiredToken once IMDS hands out expired credentials', async () => {
    imds.setFault('credentials-expired');
    try {
      const creds = await withImdsEnv(imds.url, () =>
        fromInstanceMetadata({
          timeout: 1000,
          logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
        })(),
      );
      expect(await callerError(sts, creds)).toMatchObject({ name: 'ExpiredToken', status: 400 });
    } finally {
      imds.setFault('none');
    }
  });
});
