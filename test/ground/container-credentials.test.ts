// The container credential endpoint emulator (ECS agent and EKS Pod Identity
// Agent paths): the answers' shapes on the wire, each fault mode, and the
// SDK's own fromHttp against it.
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromHttp } from '@aws-sdk/credential-providers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CONTAINER_FAULTS,
  type ContainerCredentialsEndpoint,
  linkContainerToSts,
  startContainerCredentials,
} from '../../ground/platform/container-credentials.ts';
import { type StsEndpoint, startStsEndpoint } from '../../ground/sts/endpoint.ts';
import { raw } from './imds-sts-helpers.ts';

let ep: ContainerCredentialsEndpoint;
let other: ContainerCredentialsEndpoint;
let sts: StsEndpoint;

beforeAll(async () => {
  sts = await startStsEndpoint();
  ep = await startContainerCredentials({
    identity: { accountId: '111122223333', roleName: 'task-role', clusterName: 'c1' },
  });
  linkContainerToSts(ep, sts, 'task-session');
  other = await startContainerCredentials();
});
afterAll(async () => {
  await Promise.allSettled([ep?.close(), other?.close(), sts?.close()]);
});
afterEach(() => {
  ep.setFault('none');
  ep.resetRequests();
});

const get = (path: string, authorization?: string, timeoutMs = 3000) =>
  raw(`${ep.url}${path}`, {
    timeoutMs,
    ...(authorization === undefined ? {} : { headers: { Authorization: authorization } }),
  });

describe('ECS agent path /v2/credentials/<id>', () => {
  it('answers the task role credentials as the agent does', async () => {
    const r = await get(ep.ecsRelativeUri);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    const doc = JSON.parse(r.body) as Record<string, string>;
    expect(Object.keys(doc).sort()).toEqual([
      'AccessKeyId',
      'Expiration',
      'RoleArn',
      'SecretAccessKey',
      'Token',
    ]);
    expect(doc.RoleArn).toBe('arn:aws:iam::111122223333:role/task-role');
    expect(new Date(doc.Expiration ?? '').getTime()).toBeGreaterThan(Date.now());
  });

  it('an unknown or missing id -> 400 with the agent code', async () => {
    const unknown = await get('/v2/credentials/00000000-0000-0000-0000-000000000000');
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.body)).toEqual({
      code: 'InvalidIdInRequest',
      message: 'CredentialsV2Request: ID not found',
    });
    const none = await get('/v2/credentials/');
    expect(JSON.parse(none.body)).toMatchObject({ code: 'NoIdInRequest' });
  });

  it('faults: unknown-id, uninitialized (503)', async () => {
    ep.setFault('unknown-id');
    expect((await get(ep.ecsRelativeUri)).status).toBe(400);
    ep.setFault('uninitialized');
    const r = await get(ep.ecsRelativeUri);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toMatchObject({ code: 'CredentialsUninitialized' });
  });

  it("the SDK's fromHttp gets credentials STS recognises as the role's session", async () => {
    const creds = await fromHttp({ awsContainerCredentialsFullUri: ep.ecsUrl })();
    const client = new STSClient({ region: 'us-east-1', endpoint: sts.url, credentials: creds });
    const id = await client.send(new GetCallerIdentityCommand({}));
    client.destroy();
    expect(id.Arn).toBe('arn:aws:sts::111122223333:assumed-role/task-role/task-session');
  });
});

describe('EKS Pod Identity Agent path /v1/credentials', () => {
  it('a good token (sent raw, not Bearer) -> credentials with AccountId', async () => {
    const token = ep.issueToken();
    const r = await get('/v1/credentials', token);
    expect(r.status).toBe(200);
    const doc = JSON.parse(r.body) as Record<string, string>;
    expect(doc.AccountId).toBe('111122223333');
    expect(typeof doc.Token).toBe('string');
    expect(ep.requests()).toEqual([{ path: '/v1/credentials', authorization: token, status: 200 }]);
    expect((await get('/v1/credentials', `Bearer ${token}`)).status).toBe(400);
  });

  it.each([
    ['no token', undefined, 'Service account token cannot be empty'],
    ['not a JWT', 'not-a-token', 'Service account token cannot be parsed'],
    ['an expired token', 'expired', 'token is expired'],
    ["another cluster's token", 'foreign', '(InvalidTokenException)'],
    ['a token for another audience', 'audience', '(InvalidTokenException)'],
  ])('%s -> 400 text/plain, as the agent says it', async (_label, kind, says) => {
    const token =
      kind === 'expired'
        ? ep.issueToken({ expiresInSeconds: -5 })
        : kind === 'foreign'
          ? other.issueToken()
          : kind === 'audience'
            ? ep.issueToken({ audience: 'sts.amazonaws.com' })
            : kind;
    const r = await get('/v1/credentials', token);
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.body).toContain(says);
    expect(r.body.endsWith('\n')).toBe(true);
  });

  it.each([
    ['no-association', 404, 'ResourceNotFoundException'],
    ['access-denied', 400, 'AccessDeniedException'],
    ['token-expired', 400, 'ExpiredTokenException'],
  ] as const)('fault %s -> EKS Auth %i %s', async (fault, status, code) => {
    ep.setFault(fault);
    const r = await get('/v1/credentials', ep.issueToken());
    expect(r.status).toBe(status);
    expect(r.body).toMatch(
      new RegExp(`^\\[[0-9a-f-]{36}\\]: \\(${code}\\): .+, fault: client\\n$`),
    );
  });

  it("the SDK's fromHttp sends the token from the file's stand-in option", async () => {
    const token = ep.issueToken();
    const creds = await fromHttp({
      awsContainerCredentialsFullUri: ep.podIdentityUrl,
      awsContainerAuthorizationToken: token,
    })();
    expect(creds.accessKeyId).toMatch(/^ASIA/);
    expect(ep.requests().at(-1)?.authorization).toBe(token);
  });
});

describe('fault modes shared by both paths', () => {
  it('every fault is listed once', () => {
    expect(new Set(CONTAINER_FAULTS).size).toBe(CONTAINER_FAULTS.length);
  });

  it('error500 and malformed', async () => {
    ep.setFault('error500');
    expect((await get(ep.ecsRelativeUri)).status).toBe(500);
    ep.setFault('malformed');
    const r = await get(ep.ecsRelativeUri);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).not.toHaveProperty('Token');
  });

  it('hang holds the request, reset drops it, slow still answers', async () => {
    ep.setFault('hang');
    await expect(get(ep.ecsRelativeUri, undefined, 300)).rejects.toThrow('timeout');
    ep.setFault('reset');
    await expect(get(ep.ecsRelativeUri)).rejects.toMatchObject({ code: 'ECONNRESET' });
    ep.setFault('slow', { delayMs: 150 });
    expect((await get(ep.ecsRelativeUri)).status).toBe(200);
  });

  it('close() ends held requests too', async () => {
    const held = await startContainerCredentials();
    held.setFault('hang');
    const pending = raw(`${held.ecsUrl}`, { timeoutMs: 5000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await held.close();
    expect(await pending).toBeInstanceOf(Error);
  });
});
