import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseIamInfo,
  parseInstanceId,
  parseRegion,
  parseRoleCredentials,
  parseRoleList,
} from '../../src/aws/imds-documents.ts';

// AWS's documented example credentials: shaped like real ones, valid nowhere.
const KEY_ID = 'ASIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const TOKEN = `IQoJb3JpZ2luX2VjEXAMPLE${'A1b2C3d4'.repeat(40)}`;

function roleDoc(over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    Code: 'Success',
    LastUpdated: '2026-08-20T09:47:12Z',
    Type: 'AWS-HMAC',
    AccessKeyId: KEY_ID,
    SecretAccessKey: SECRET,
    Token: TOKEN,
    Expiration: '2026-08-20T16:12:45Z',
    ...over,
  });
}

describe('parseIamInfo', () => {
  it('reads Code, the profile ARN and Message', () => {
    const r = parseIamInfo(
      JSON.stringify({
        Code: 'Success',
        LastUpdated: '2026-08-20T09:47:12Z',
        InstanceProfileArn: 'arn:aws:iam::123456789012:instance-profile/kdcube-app-role',
        InstanceProfileId: 'AIPAEXAMPLE',
      }),
    );
    expect(r).toEqual({
      ok: true,
      value: {
        code: 'Success',
        instanceProfileArn: 'arn:aws:iam::123456789012:instance-profile/kdcube-app-role',
        message: undefined,
      },
    });
  });

  it('a 200 with another Code is read, not judged here', () => {
    const r = parseIamInfo('{"Code":"AssumeRoleUnauthorizedAccess","Message":"denied"}');
    expect(r).toMatchObject({ ok: true, value: { code: 'AssumeRoleUnauthorizedAccess' } });
  });

  it.each(['', 'not json', '[]', 'null', '"Success"', '{}', '{"Code":1}', '<html>'])(
    'rejects %j',
    (body) => {
      expect(parseIamInfo(body).ok).toBe(false);
    },
  );
});

describe('parseRoleCredentials', () => {
  it('keeps what reports need and drops the secrets', () => {
    const r = parseRoleCredentials(roleDoc());
    expect(r).toEqual({
      ok: true,
      value: {
        code: 'Success',
        message: undefined,
        accessKeyIdMasked: 'ASIA…MPLE',
        expiration: new Date('2026-08-20T16:12:45Z'),
        lastUpdated: new Date('2026-08-20T09:47:12Z'),
        type: 'AWS-HMAC',
      },
    });
    const json = JSON.stringify(r);
    for (const secret of [KEY_ID, SECRET, TOKEN]) expect(json).not.toContain(secret);
  });

  it.each([
    ['no secret', { SecretAccessKey: undefined }],
    ['no token', { Token: '' }],
    ['no key id', { AccessKeyId: undefined }],
    ['a bad expiration', { Expiration: 'tomorrow' }],
  ])('Success with %s is rejected', (_, over) => {
    const r = parseRoleCredentials(roleDoc(over));
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain(SECRET);
  });

  it('a failure document is read with its message', () => {
    const r = parseRoleCredentials('{"Code":"AssumeRoleUnauthorizedAccess","Message":"no trust"}');
    expect(r).toMatchObject({
      ok: true,
      value: { code: 'AssumeRoleUnauthorizedAccess', message: 'no trust' },
    });
  });
});

describe('parseRoleList, parseInstanceId, parseRegion', () => {
  it.each([
    ['kdcube-app-role', 'kdcube-app-role'],
    ['kdcube-app-role\nsecond', 'kdcube-app-role'],
    ['  role+=,.@_-x  \n', 'role+=,.@_-x'],
    ['', undefined],
    ['role/with/slash', undefined],
    ['has space', undefined],
    ['r'.repeat(129), undefined],
  ])('role list %j -> %j', (body, role) => {
    expect(parseRoleList(body)).toBe(role);
  });

  it.each([
    ['i-0123456789abcdef0', 'i-0123456789abcdef0'],
    ['i-12345678\n', 'i-12345678'],
    ['i-0123456789ABCDEF0', undefined],
    ['i-1234567', undefined],
    ['<html>', undefined],
  ])('instance id %j -> %j', (body, id) => {
    expect(parseInstanceId(body)).toBe(id);
  });

  it.each([
    ['eu-west-1', 'eu-west-1'],
    ['us-gov-west-1\n', 'us-gov-west-1'],
    ['eu-west-1a', undefined],
    ['EU-WEST-1', undefined],
    ['', undefined],
  ])('region %j -> %j', (body, region) => {
    expect(parseRegion(body)).toBe(region);
  });
});

describe('properties', () => {
  const body = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.json(),
    fc.anything().map((v) => JSON.stringify(v) ?? ''),
  );

  it('no parser throws on any input', () => {
    fc.assert(
      fc.property(body, (b) => {
        parseIamInfo(b);
        parseRoleCredentials(b);
        parseRoleList(b);
        parseInstanceId(b);
        parseRegion(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('a parsed role document never holds the secret or the token', () => {
    const secretLike = fc.stringMatching(/^[A-Za-z0-9/+]{20,60}$/);
    fc.assert(
      fc.property(
        fc.stringMatching(/^ASIA[A-Z2-7]{16}$/),
        secretLike,
        secretLike,
        fc.constantFrom('Success', 'Failure'),
        fc.option(fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
        fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }),
        (id, secret, token, code, expiration, extra) => {
          const doc = JSON.stringify({
            ...extra,
            Code: code,
            AccessKeyId: id,
            SecretAccessKey: secret,
            Token: token,
            ...(expiration === null ? {} : { Expiration: expiration }),
          });
          const json = JSON.stringify(parseRoleCredentials(doc));
          return !json.includes(secret) && !json.includes(token) && !json.includes(id);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
