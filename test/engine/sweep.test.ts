// The leftover sweep against the real radosgw: only objects provably ours
// (own `<instance-id>/<hostname>/` prefix, own key format, older than any
// deadline) go, once per process, by version in a versioned bucket.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FaultProxy, type ProxyEvent, startFaultProxy } from '../../ground/fault/proxy.ts';
import { GROUND_IDENTITY, type Ground, startGround } from '../../ground/ground.ts';
import { adminS3 } from '../../ground/radosgw/info.ts';
import { boardInstanceId } from '../../src/aws/board-asset-tag.ts';
import { createDeps } from '../../src/checks/create-deps.ts';
import { clearEnv, cycle, quiet, summary, useEnv } from '../support/sidecar.ts';

const rgw = inject('rgw');
let ground: Ground;
const s3 = adminS3(rgw);
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  ground = await startGround(rgw);
  open.push(ground);
});
afterAll(async () => {
  s3.destroy();
  await Promise.allSettled(open.map((o) => o.close()));
});

const IID = GROUND_IDENTITY.instanceId;
const OWN = `healthcheck/${IID}/test-host/`;
const old = Date.now() - 3600_000;
const young = Date.now() - 1000;
const FOREIGN = [
  'healthcheck/',
  'healthcheck/test-host',
  'healthcheck/test-host/',
  // our format and hostname, but no instance id: another host with this
  // hostname that knows no instance id, or a predecessor of the old layout
  `healthcheck/test-host/probe-${old}-fedcba9876543210`,
  // our hostname on another instance (host networking, an explicit `hostname:`)
  `healthcheck/i-0ffffffffffffffff/test-host/probe-${old}-fedcba9876543210`,
  `healthcheck/${IID}/other-host/probe-${old}-0123456789abcdef`,
  `healthcheck/${IID}/Test-Host/probe-${old}-0123456789abcdef`,
  `healthcheck/${IID}/test-host/sub/probe-${old}-0123456789abcdef`,
  `${OWN}probe-${old}-0123456789abcdef/`,
  `${OWN}probe-${old}-0123456789ABCDEF`,
  `${OWN}notes.txt`,
  `${OWN}probe-${young}-0123456789abcdef`,
  'kb/docs/report.pdf',
];
const OURS_OLD = `${OWN}probe-${old}-fedcba9876543210`;

async function sha(bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return createHash('sha256')
    .update(await (out.Body?.transformToByteArray() ?? new Uint8Array()))
    .digest('hex');
}

async function put(bucket: string, key: string): Promise<string | undefined> {
  const out = await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}` }),
  );
  return out.VersionId;
}

/** Deps of a process that started long enough ago for its one sweep to be due. */
function startedLongAgo(config: ReturnType<typeof useEnv>) {
  const deps = createDeps(config, quiet);
  deps.leftovers.since = Date.now() - 3600_000;
  return deps;
}

it('deletes a killed run’s own old probe object under PREFIX<instance-id>/<hostname>/ and nothing else', async () => {
  const before = new Map<string, string>();
  for (const key of [...FOREIGN, OURS_OLD]) await put(ground.bucket, key);
  for (const key of FOREIGN) before.set(key, await sha(ground.bucket, key));
  const config = useEnv(ground.env);
  const results = await cycle(config, startedLongAgo(config));
  expect(summary(results).s3).toBe('pass');
  // The probe itself wrote under the instance's prefix.
  const key = results.get('s3')?.steps.find((s) => s.name === 'put')?.observed.key;
  expect(String(key)).toMatch(new RegExp(`^${OWN}probe-\\d{13}-[0-9a-f]{16}$`));
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: ground.bucket }));
  const keys = (listed.Contents ?? []).map((o) => o.Key).sort();
  expect(keys).toEqual([...FOREIGN].sort());
  for (const k of FOREIGN) expect(await sha(ground.bucket, k)).toBe(before.get(k));
});

it('without an instance id (imds check off, no board asset tag) keys live under PREFIX<hostname>/', async () => {
  const g = await startGround(rgw);
  open.push(g);
  const config = useEnv({ ...g.env, S3_HEALTH_CHECKS: 'credentials,s3' });
  clearEnv(['S3_HEALTH_CHECKS']);
  const deps = createDeps(config, quiet);
  deps.instanceIdWithoutImds = () => boardInstanceId(join(tmpdir(), 'no-such-asset-tag'));
  const results = await cycle(config, deps);
  expect(summary(results).s3).toBe('pass');
  const key = results.get('s3')?.steps.find((s) => s.name === 'put')?.observed.key;
  expect(String(key)).toMatch(/^healthcheck\/test-host\/probe-\d{13}-[0-9a-f]{16}$/);
});

it('without IMDS (ECS/EKS) the board asset tag names the instance: PREFIX<instance-id>/<hostname>/', async () => {
  const g = await startGround(rgw);
  open.push(g);
  const config = useEnv({ ...g.env, S3_HEALTH_CHECKS: 'credentials,s3' });
  clearEnv(['S3_HEALTH_CHECKS']);
  const tag = join(mkdtempSync(join(tmpdir(), 's3h-tag-')), 'board_asset_tag');
  writeFileSync(tag, 'i-0123456789abcdef0\n');
  const deps = createDeps(config, quiet);
  deps.instanceIdWithoutImds = () => boardInstanceId(tag);
  const results = await cycle(config, deps);
  expect(summary(results).s3).toBe('pass');
  const key = results.get('s3')?.steps.find((s) => s.name === 'put')?.observed.key;
  expect(String(key)).toMatch(
    /^healthcheck\/i-0123456789abcdef0\/test-host\/probe-\d{13}-[0-9a-f]{16}$/,
  );
});

describe('versioned bucket', () => {
  it('sweeps a predecessor’s versions and delete markers by version id; foreign versions stay', async () => {
    const g = await startGround(rgw, { bucketOptions: { versioning: 'Enabled' } });
    open.push(g);
    const current = `${OWN}probe-${old}-1111111111111111`;
    const deleted = `${OWN}probe-${old}-2222222222222222`;
    await put(g.bucket, current);
    await put(g.bucket, deleted);
    // A predecessor of the old code: a plain DELETE left a version and a marker.
    await s3.send(new DeleteObjectCommand({ Bucket: g.bucket, Key: deleted }));
    const foreign = [
      `healthcheck/test-host/probe-${old}-3333333333333333`,
      `${OWN}probe-${young}-4444444444444444`,
      'kb/docs/report.pdf',
    ];
    for (const k of foreign) await put(g.bucket, k);
    const config = useEnv(g.env);
    const results = await cycle(config, startedLongAgo(config));
    expect(summary(results).s3).toBe('pass');
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket: g.bucket }));
    const versions = (out.Versions ?? []).map((v) => v.Key).sort();
    expect(versions).toEqual([...foreign].sort());
    expect(out.DeleteMarkers ?? []).toEqual([]);
  });
});

/** Collects the list requests a proxy sees until stopped. */
function watchLists(proxy: FaultProxy): { stop(): { at: number; e: ProxyEvent }[] } {
  const seen: { at: number; e: ProxyEvent }[] = [];
  let on = true;
  const listMatch = { method: 'GET', path: /[?&](list-type=2|versions)(&|=|$)/ };
  (async () => {
    while (on) {
      const e = await proxy.next(listMatch, 'request', 500).catch(() => undefined);
      if (e && on) seen.push({ at: Date.now(), e });
    }
  })();
  return {
    stop() {
      on = false;
      return seen;
    },
  };
}

it('lists its prefix once per process, and only once the age bound has passed since start', async () => {
  const g = await startGround(rgw);
  open.push(g);
  const proxy = await startFaultProxy({ target: rgw.endpoint });
  open.push(proxy);
  const config = useEnv({
    ...g.env,
    AWS_ENDPOINT_URL_S3: proxy.url,
    S3_HEALTH_TIMEOUT_SECONDS: '0.5',
  });
  clearEnv(['S3_HEALTH_TIMEOUT_SECONDS']);
  const t0 = Date.now();
  const deps = createDeps(config, quiet);
  const bound = 2 * 0.5 * 1000 + 5000;
  const watch = watchLists(proxy);
  let passes = 0;
  while (Date.now() - t0 < bound + 2500) {
    const results = await cycle(config, deps);
    if (summary(results).s3 === 'pass') passes++;
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, 600));
  const lists = watch.stop();
  expect(passes).toBeGreaterThan(10);
  expect(lists).toHaveLength(1);
  // Only its own PREFIX<instance-id>/<hostname>/ is listed.
  expect(decodeURIComponent(lists[0]?.e.url ?? '')).toContain(`prefix=${OWN}`);
  expect((lists[0]?.at ?? 0) - t0).toBeGreaterThanOrEqual(bound);
  expect(deps.leftovers.swept).toBe(true);
}, 30_000);

describe('more leftovers than one page (a long crash loop)', () => {
  for (const versioning of [undefined, 'Enabled'] as const) {
    it(`pages through its own prefix: 1,050 leftovers all go, foreign keys stay (${versioning ?? 'unversioned'})`, async () => {
      const g = await startGround(rgw, versioning ? { bucketOptions: { versioning } } : {});
      open.push(g);
      const ours = Array.from(
        { length: 1050 },
        (_, i) => `${OWN}probe-${old}-${i.toString(16).padStart(16, '0')}`,
      );
      for (let i = 0; i < ours.length; i += 50) {
        await Promise.all(ours.slice(i, i + 50).map((k) => put(g.bucket, k)));
      }
      // Written now: too young to be a predecessor's (the module's `young` ages past the bound).
      const foreign = `${OWN}probe-${Date.now()}-ffffffffffffffff`;
      await put(g.bucket, foreign);
      const config = useEnv(g.env);
      const results = await cycle(config, startedLongAgo(config));
      expect(summary(results).s3).toBe('pass');
      const out = await s3.send(new ListObjectVersionsCommand({ Bucket: g.bucket, MaxKeys: 1000 }));
      expect((out.Versions ?? []).map((v) => v.Key)).toEqual([foreign]);
      expect(out.DeleteMarkers ?? []).toEqual([]);
    }, 120_000);
  }
});
