import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { deleteOwn, isOwnKeyFormat, OwnKeys, ownPrefixFor } from '../../src/aws/own-keys.ts';
import { CheckFailure } from '../../src/model/check.ts';

const OWN = 'healthcheck/host-1/';
const NOW = Date.parse('2026-08-20T10:00:00.000Z');

describe('OwnKeys', () => {
  it('next() writes below the own prefix in the probe format', () => {
    const keys = new OwnKeys(OWN);
    const key = keys.next(NOW);
    expect(key).toMatch(/^healthcheck\/host-1\/probe-\d{13}-[0-9a-f]{16}$/);
    expect(key).toContain(`probe-${NOW}-`);
    expect(keys.next(NOW)).not.toBe(key);
    expect(keys.pending()).toHaveLength(2);
  });

  it('mayDelete only a key from next() not yet deleted', () => {
    const keys = new OwnKeys(OWN);
    const key = keys.next(NOW);
    expect(keys.mayDelete(key)).toBe(true);
    keys.deleted(key);
    expect(keys.mayDelete(key)).toBe(false);
    expect(keys.pending()).toEqual([]);
  });

  it('never a key it did not create, however ours it looks', () => {
    const keys = new OwnKeys(OWN);
    const mine = keys.next(NOW);
    const foreign = [
      `${OWN}probe-${NOW}-0123456789abcdef`, // our format, not written by us
      new OwnKeys(OWN).next(NOW), // another process on the same host name
      new OwnKeys('healthcheck/host-2/').next(NOW), // another host
      'kb/documents/report.pdf', // the application's data
      OWN, // the prefix itself
      OWN.slice(0, -1),
      'healthcheck/',
      '',
      mine.toUpperCase(),
      mine.replace('healthcheck', 'HealthCheck'),
      `${mine}/`,
      `/${mine}`,
      mine.slice(0, -1),
      `${mine} `,
      mine.replace(OWN, 'healthcheck//host-1/'),
      mine.replace(OWN, 'healthcheck/host-1/../'),
    ];
    for (const key of foreign) expect(keys.mayDelete(key), key).toBe(false);
    expect(keys.mayDelete(mine)).toBe(true);
  });

  it('deleteOwn refuses a key it does not vouch for before any request is sent', async () => {
    const keys = new OwnKeys(OWN);
    // Port 9 on loopback: a request that were sent would fail with a network error instead.
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    const key = `${OWN}probe-${NOW}-0123456789abcdef`;
    const refused = deleteOwn(keys, { s3, bucket: 'b', key, signal: AbortSignal.timeout(2000) });
    await expect(refused).rejects.toBeInstanceOf(CheckFailure);
    await expect(refused).rejects.toThrow(`refusing to delete ${key}`);
    s3.destroy();
  });

  it('a key reserved under another prefix is never ours', () => {
    const a = new OwnKeys(OWN);
    const b = new OwnKeys('healthcheck/host-10/');
    expect(a.mayDelete(b.next(NOW))).toBe(false);
  });
});

describe("adopt (a killed predecessor's leftovers)", () => {
  it('takes over a key in our exact format under our prefix; then it may be deleted', () => {
    const keys = new OwnKeys(OWN);
    const left = `${OWN}probe-${NOW}-0123456789abcdef`;
    expect(keys.mayDelete(left)).toBe(false);
    expect(keys.adopt(left)).toBe(true);
    expect(keys.mayDelete(left)).toBe(true);
    keys.deleted(left);
    expect(keys.mayDelete(left)).toBe(false);
  });

  it.each([
    'kb/documents/report.pdf',
    `healthcheck/host-2/probe-${NOW}-0123456789abcdef`,
    `healthcheck/host-10/probe-${NOW}-0123456789abcdef`,
    `${OWN}probe-${NOW}-0123456789ABCDEF`,
    `${OWN}sub/probe-${NOW}-0123456789abcdef`,
    `${OWN}probe-${NOW}-0123456789abcdef/`,
    OWN,
  ])('refuses %j, and it stays undeletable', (key) => {
    const keys = new OwnKeys(OWN);
    expect(keys.adopt(key)).toBe(false);
    expect(keys.mayDelete(key)).toBe(false);
    expect(keys.pending()).toEqual([]);
  });
});

describe('isOwnKeyFormat', () => {
  it('recognises our keys and when they were written', () => {
    const key = new OwnKeys(OWN).next(NOW);
    expect(isOwnKeyFormat(key, OWN)).toEqual({ ok: true, writtenAt: NOW });
  });

  it.each([
    `${OWN}probe-${NOW}-0123456789ABCDEF`,
    `${OWN}probe-${NOW}-0123456789abcde`,
    `${OWN}probe-${String(NOW).slice(1)}-0123456789abcdef`,
    `${OWN}sub/probe-${NOW}-0123456789abcdef`,
    `${OWN}probe-${NOW}-0123456789abcdef.tmp`,
    `healthcheck/host-10/probe-${NOW}-0123456789abcdef`,
    `HEALTHCHECK/host-1/probe-${NOW}-0123456789abcdef`,
    `${OWN}`,
    'kb/documents/report.pdf',
  ])('rejects %j', (key) => {
    expect(isOwnKeyFormat(key, OWN)).toEqual({ ok: false });
  });
});

describe('the own prefix', () => {
  it('is PREFIX<instance-id>/<hostname>/ with an instance id, PREFIX<hostname>/ without', () => {
    expect(ownPrefixFor('healthcheck/', 'web-1', 'i-0a1b2c3d4e5f67890')).toBe(
      'healthcheck/i-0a1b2c3d4e5f67890/web-1/',
    );
    expect(ownPrefixFor('healthcheck/', 'web-1')).toBe('healthcheck/web-1/');
    // Only a well-formed instance id becomes part of a key.
    for (const bad of [
      '',
      'i-',
      'I-0A1B2C3D',
      'i-0a1b/../x',
      '../i-0a1b2c3d',
      'i-0a1b2c3d4e5f678901',
    ])
      expect(ownPrefixFor('healthcheck/', 'web-1', bad)).toBe('healthcheck/web-1/');
  });

  it('is decided once, at the first PUT, and kept for the life of the process', () => {
    const keys = new OwnKeys();
    expect(() => keys.next(NOW)).toThrow(/not decided/);
    expect(keys.pin('healthcheck/web-1/')).toBe('healthcheck/web-1/');
    // A later cycle that learned an instance id does not move it.
    expect(keys.pin('healthcheck/i-0a1b2c3d4e5f67890/web-1/')).toBe('healthcheck/web-1/');
    expect(keys.next(NOW)).toMatch(/^healthcheck\/web-1\/probe-/);
  });

  it('learns that the bucket keeps versions from a PUT answer naming one', () => {
    const keys = new OwnKeys(OWN);
    const a = keys.next(NOW);
    keys.answered(a, undefined);
    expect(keys.keepsVersions).toBe(false);
    expect(keys.versionOf(a)).toEqual({ kind: 'answered' });
    const b = keys.next(NOW);
    keys.answered(b, '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY');
    expect(keys.keepsVersions).toBe(true);
    expect(keys.versionOf(b)).toEqual({
      kind: 'answered',
      versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
    });
    expect(keys.versionOf(keys.next(NOW))).toEqual({ kind: 'unknown' });
  });
});
