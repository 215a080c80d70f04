// STS AssumeRoleWithWebIdentity on the ground's STS endpoint, through the
// SDK's STS client: the checks in the order STS applies them, and what the
// credentials it hands out are to GetCallerIdentity.
import {
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fakeCredentialSource } from '../../ground/imds/credentials.ts';
import { serveWebIdentity, type WebIdentity } from '../../ground/platform/web-identity.ts';
import { type StsEndpoint, startStsEndpoint } from '../../ground/sts/endpoint.ts';
import { raw } from './imds-sts-helpers.ts';

const ROLE = 'arn:aws:iam::111122223333:role/app';
let sts: StsEndpoint;
let wi: WebIdentity;

beforeAll(async () => {
  sts = await startStsEndpoint();
  wi = serveWebIdentity(sts, { credentials: fakeCredentialSource });
  wi.trust({ roleArn: ROLE, issuer: wi.issuer, namespace: 'apps', serviceAccount: 'app' });
});
afterAll(async () => {
  await sts?.close();
});
afterEach(() => {
  wi.setFault('none');
  wi.addProvider(wi.issuer);
  sts.setFault('none');
});

// No credentials: the operation is unsigned, as the SDK's web-identity provider sends it.
const client = () =>
  new STSClient({
    region: 'us-east-1',
    endpoint: sts.url,
    maxAttempts: 1,
    credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' },
  });

async function assume(token: string, roleArn = ROLE) {
  const c = client();
  try {
    return await c.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: roleArn,
        RoleSessionName: 's3h-test',
        WebIdentityToken: token,
      }),
    );
  } finally {
    c.destroy();
  }
}

async function refusal(token: string, roleArn = ROLE) {
  try {
    await assume(token, roleArn);
  } catch (err) {
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected AssumeRoleWithWebIdentity to fail');
}

describe('AssumeRoleWithWebIdentity', () => {
  it('a trusted service account gets credentials that GetCallerIdentity knows', async () => {
    const out = await assume(wi.issueToken({ namespace: 'apps', serviceAccount: 'app' }));
    expect(out.AssumedRoleUser?.Arn).toBe('arn:aws:sts::111122223333:assumed-role/app/s3h-test');
    expect(out.SubjectFromWebIdentityToken).toBe('system:serviceaccount:apps:app');
    const creds = out.Credentials;
    if (!creds?.AccessKeyId || !creds.SecretAccessKey) throw new Error('no credentials');
    const c = new STSClient({
      region: 'us-east-1',
      endpoint: sts.url,
      credentials: {
        accessKeyId: creds.AccessKeyId,
        secretAccessKey: creds.SecretAccessKey,
        sessionToken: creds.SessionToken,
      },
    });
    const id = await c.send(new GetCallerIdentityCommand({}));
    c.destroy();
    expect(id.Arn).toBe('arn:aws:sts::111122223333:assumed-role/app/s3h-test');
    expect(wi.calls().at(-1)).toEqual({ roleArn: ROLE, roleSessionName: 's3h-test', error: null });
  });

  it.each([
    ['not a JWT', () => 'garbage', 'InvalidIdentityTokenException', 400, 'not a valid JWT'],
    [
      'an issuer IAM does not know',
      () => wi.issueToken({ serviceAccount: 'app', issuer: 'https://oidc.example/id/X' }),
      'InvalidIdentityTokenException',
      400,
      'No OpenIDConnect provider found in your account for https://oidc.example/id/X',
    ],
    [
      'an expired token',
      () => wi.issueToken({ serviceAccount: 'app', expiresInSeconds: -10 }),
      'ExpiredTokenException',
      400,
      'Token expired: current date/time',
    ],
    [
      'another audience',
      () => wi.issueToken({ serviceAccount: 'app', audience: 'pods.eks.amazonaws.com' }),
      'InvalidIdentityTokenException',
      400,
      'Incorrect token audience',
    ],
    [
      'a service account the role does not trust',
      () => wi.issueToken({ serviceAccount: 'worker' }),
      'AccessDenied',
      403,
      'Not authorized to perform sts:AssumeRoleWithWebIdentity',
    ],
  ])('%s -> %s', async (_label, token, name, status, message) => {
    const r = await refusal(token());
    expect(r).toMatchObject({ name, status });
    expect(r.message).toContain(message);
  });

  it('a tampered token fails its signature', async () => {
    const [h, p] = wi.issueToken({ serviceAccount: 'app' }).split('.');
    const r = await refusal(`${h}.${p}.AAAA`);
    expect(r.name).toBe('InvalidIdentityTokenException');
  });

  it('a removed OIDC provider and an unreachable IdP', async () => {
    wi.removeProvider(wi.issuer);
    expect((await refusal(wi.issueToken({ serviceAccount: 'app' }))).message).toContain(
      'No OpenIDConnect provider',
    );
    wi.addProvider(wi.issuer);
    wi.setFault('idp-unreachable');
    expect((await refusal(wi.issueToken({ serviceAccount: 'app' }))).name).toBe(
      'IDPCommunicationErrorException',
    );
  });

  it("the endpoint's own fault modes apply first", async () => {
    sts.setFault('error500');
    expect((await refusal(wi.issueToken({ serviceAccount: 'app' }))).status).toBe(500);
  });

  it('other actions still need a signature', async () => {
    const r = await raw(`${sts.url}/?Action=GetCallerIdentity&Version=2011-06-15`);
    expect(r.status).toBe(403);
    expect(r.body).toContain('MissingAuthenticationToken');
  });
});
