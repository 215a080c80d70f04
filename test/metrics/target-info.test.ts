// s3_health_target_info: its labels from config and from what the checks
// learned, and the exposition keeping exactly one series as they change.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse.ts';
import { HealthStore } from '../../src/engine/store.ts';
import { Metrics } from '../../src/metrics.ts';
import type { Facts } from '../../src/model/check.ts';
import type { Config } from '../../src/model/config.ts';
import { targetLabels } from '../../src/target-info.ts';

function config(env: Record<string, string>): Config {
  const parsed = parseConfig({ S3_HEALTH_BUCKET: 'kb-prod', ...env }, 'host-1');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

const LEARNED: Facts = {
  region: 'eu-west-1',
  roleName: 'app-role',
  accountId: '123456789012',
  credentialSource: 'imds',
};

/** Scrape-time clock for exposition(): each call a fresh render, past the cache window. */
let scrapeAt = 0;

async function infoLines(metrics: Metrics, store: HealthStore, identity = true): Promise<string[]> {
  scrapeAt += 10_000;
  const text = (await metrics.exposition(store, identity, scrapeAt)).toString();
  return text.split('\n').filter((l) => l.startsWith('s3_health_target_info{'));
}

describe('targetLabels', () => {
  it('is empty, bucket aside, before any check has run', () => {
    expect(targetLabels(config({}), {})).toEqual({
      bucket: 'kb-prod',
      region: '',
      role: '',
      account: '',
      source: '',
    });
  });

  it('fills in what the checks learned', () => {
    expect(targetLabels(config({}), LEARNED)).toEqual({
      bucket: 'kb-prod',
      region: 'eu-west-1',
      role: 'app-role',
      account: '123456789012',
      source: 'imds',
    });
  });

  it('takes the configured region over IMDS, and the learned role over the expected one', () => {
    const c = config({
      AWS_REGION: 'us-east-2',
      S3_HEALTH_EXPECTED_ROLE: 'arn:aws:iam::123456789012:role/expected-role',
      S3_HEALTH_EXPECTED_ACCOUNT: '210987654321',
    });
    expect(targetLabels(c, {})).toMatchObject({
      region: 'us-east-2',
      role: 'expected-role',
      account: '210987654321',
    });
    expect(targetLabels(c, LEARNED)).toMatchObject({
      region: 'us-east-2',
      role: 'app-role',
      account: '123456789012',
    });
  });

  it('leaves a value outside the bounded set unknown', () => {
    const odd = { ...LEARNED, roleName: 'role with spaces\n', accountId: 'x'.repeat(200) };
    expect(targetLabels(config({}), odd)).toMatchObject({ role: '', account: '' });
  });
});

describe('s3_health_target_info', () => {
  it('is one series = 1 from the start, replaced (never added to) when facts change', async () => {
    const c = config({});
    const metrics = new Metrics(c, '0.0.0-test');
    const store = new HealthStore(c);
    expect(await infoLines(metrics, store)).toEqual([
      's3_health_target_info{bucket="kb-prod",region="",role="",account="",source=""} 1',
    ]);
    store.facts = LEARNED;
    expect(await infoLines(metrics, store)).toEqual([
      's3_health_target_info{bucket="kb-prod",region="eu-west-1",role="app-role",account="123456789012",source="imds"} 1',
    ]);
    store.facts = { ...LEARNED, roleName: 'other-role' };
    expect(await infoLines(metrics, store)).toEqual([
      's3_health_target_info{bucket="kb-prod",region="eu-west-1",role="other-role",account="123456789012",source="imds"} 1',
    ]);
    // A scrape that may not see identity: the same one series, role and account empty.
    expect(await infoLines(metrics, store, false)).toEqual([
      's3_health_target_info{bucket="kb-prod",region="eu-west-1",role="",account="",source="imds"} 1',
    ]);
  });
});
