import { describe, expect, it } from 'vitest';
import { isOwnKeyFormat, OwnKeys } from '../../src/aws/own-keys.ts';

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
