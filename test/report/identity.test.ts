// Pure logic: what a caller without the diagnose token sees of the sidecar's identity.
import { describe, expect, it } from 'vitest';
import { hideIdentity, publicFacts } from '../../src/report/identity.ts';

const facts = {
  instanceId: 'i-0a1b2c3d4e5f67890',
  accountId: '123456789012',
  roleName: 'app',
  callerArn: 'arn:aws:sts::123456789012:assumed-role/app/i-0a1b2c3d4e5f67890',
  region: 'eu-west-1',
  bucket: 'acme-kb',
};
const config = { expectedAccount: undefined, expectedRole: 'kb-role' };

describe('hideIdentity', () => {
  it('replaces ARNs, account ids, role names and instance ids, keeping the sense', () => {
    expect(hideIdentity(`caller is ${facts.callerArn}, expected role kb-role`, facts, config)).toBe(
      'caller is <ARN>, expected role <ROLE_NAME>',
    );
    expect(hideIdentity('account 123456789012 on i-0a1b2c3d4e5f67890', facts, config)).toBe(
      'account <ACCOUNT_ID> on <INSTANCE_ID>',
    );
    // Ids it never learned, by their shape: another account, a short instance id.
    expect(hideIdentity('in 210987654321 on i-0123abcd', facts, config)).toBe(
      'in <ACCOUNT_ID> on <INSTANCE_ID>',
    );
  });

  it('replaces a role name only as a whole name', () => {
    expect(hideIdentity('the application role app failed', facts, config)).toBe(
      'the application role <ROLE_NAME> failed',
    );
  });

  it('leaves reasons, timings, request ids and the bucket alone', () => {
    const text =
      's3_access_denied: put 41 ms, x-amz-request-id tx000000000000000000001, bucket acme-kb';
    expect(hideIdentity(text, facts, config)).toBe(text);
  });
});

describe('publicFacts', () => {
  it('keeps where the sidecar probes, drops who it is', () => {
    expect(publicFacts(facts)).toEqual({ region: 'eu-west-1', bucket: 'acme-kb' });
  });
});
