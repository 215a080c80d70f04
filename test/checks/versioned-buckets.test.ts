// Versioned and Object Lock buckets on the real radosgw: the probe deletes
// the exact version it wrote, so 20 cycles leave no version and no delete
// marker; where S3 refuses (s3:DeleteObjectVersion denied, retention) `s3`
// warns with the fix, and exactly one version + one marker a cycle stay.
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../../ground/fault/proxy.ts';
import {
  GROUND_IDENTITY,
  type Ground,
  type GroundOptions,
  startGround,
} from '../../ground/ground.ts';
import { adminS3, denyActions } from '../../ground/radosgw/info.ts';
import { createDeps } from '../../src/checks/create-deps.ts';
import type { CheckResult, StepResult } from '../../src/model/check.ts';
import { remediate } from '../../src/report/remediation.ts';
import { cycle, quiet, useEnv } from '../support/sidecar.ts';

const rgw = inject('rgw');
const admin = adminS3(rgw);
const CYCLES = 20;
const OWN = `healthcheck/${GROUND_IDENTITY.instanceId}/test-host/`;
const open: { close(): Promise<void> }[] = [];

afterAll(async () => {
  await Promise.allSettled(open.map((o) => o.close()));
  admin.destroy();
});

async function ground(opts: GroundOptions): Promise<Ground> {
  const g = await startGround(rgw, opts);
  open.push(g);
  return g;
}

/** The fix the report shows for a run whose delete step left a version. */
function versionLeftFix(del: StepResult | undefined, g: Ground) {
  return remediate('s3_version_left', {
    check: 's3',
    step: 'delete',
    ...(del?.error ? { error: del.error } : {}),
    facts: { bucket: g.bucket },
    config: useEnv(g.env),
  });
}

async function versionsUnder(bucket: string, prefix = 'healthcheck/') {
  const out = await admin.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
  return {
    versions: (out.Versions ?? []).map((v) => `${v.Key}@${v.VersionId}`),
    markers: (out.DeleteMarkers ?? []).map((v) => `${v.Key}@${v.VersionId}`),
  };
}

/** Runs `n` cycles with one set of deps, as the scheduler does; returns each s3 result. */
async function cycles(env: Record<string, string>, n = CYCLES): Promise<CheckResult[]> {
  const config = useEnv(env);
  const deps = createDeps(config, quiet);
  const out: CheckResult[] = [];
  for (let i = 0; i < n; i++) {
    const r = (await cycle(config, deps)).get('s3');
    if (r === undefined) throw new Error('no s3 result');
    out.push(r);
  }
  return out;
}

const statuses = (rs: CheckResult[]) =>
  rs.map((r) => (r.reason ? `${r.status}:${r.reason}` : r.status));

describe('versioning Enabled and Suspended: nothing is left', () => {
  it.each(['Enabled', 'Suspended'] as const)(
    `%s: ${CYCLES} cycles leave 0 versions and 0 delete markers`,
    async (versioning) => {
      const g = await ground({ bucketOptions: { versioning } });
      const rs = await cycles(g.env);
      expect(statuses(rs)).toEqual(Array(CYCLES).fill('pass'));
      // The PUT answer names the version (Enabled) or none: the `null` version (Suspended).
      const put = rs[0]?.steps.find((s) => s.name === 'put');
      if (versioning === 'Enabled') expect(put?.observed.versionId).toMatch(/^[\w.-]+$/);
      else expect(put?.observed.versionId).toBeNull();
      expect(await versionsUnder(g.bucket)).toEqual({ versions: [], markers: [] });
    },
    60_000,
  );
});

describe('Object Lock', () => {
  it(`no default retention: ${CYCLES} cycles leave nothing, every PUT carries Content-MD5`, async () => {
    const g = await ground({ bucketOptions: { objectLock: true } });
    const proxy: FaultProxy = await startFaultProxy({ target: rgw.endpoint });
    open.push(proxy);
    const md5: (string | undefined)[] = [];
    const env = { ...g.env, AWS_ENDPOINT_URL_S3: proxy.url };
    const watch = (async () => {
      for (let i = 0; i < 3; i++) {
        const e = await proxy.next({ method: 'PUT' }, 'request', 20_000);
        const h = e.headers['content-md5'];
        md5.push(typeof h === 'string' ? h : undefined);
      }
    })();
    const rs = await cycles(env);
    await watch;
    expect(statuses(rs)).toEqual(Array(CYCLES).fill('pass'));
    // AWS refuses a PUT to an Object Lock bucket without Content-MD5 or an
    // x-amz-checksum-* header; S3-compatible stores get WHEN_REQUIRED checksums.
    for (const h of md5) expect(h).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(await versionsUnder(g.bucket)).toEqual({ versions: [], markers: [] });
  }, 60_000);

  it(`default GOVERNANCE retention: warns s3_version_left (retention); exactly ${CYCLES} versions + ${CYCLES} markers stay`, async () => {
    const g = await ground({ bucketOptions: { objectLock: { mode: 'GOVERNANCE', days: 1 } } });
    const rs = await cycles(g.env);
    expect(statuses(rs)).toEqual(Array(CYCLES).fill('warn:s3_version_left'));
    const del = rs[0]?.steps.find((s) => s.name === 'delete');
    expect(del?.error?.detail?.versionCause).toBe('retention');
    const head = rs[0]?.steps.find((s) => s.name === 'head');
    expect(head?.observed.objectLockMode).toBe('GOVERNANCE');
    const left = await versionsUnder(g.bucket);
    expect(left.versions).toHaveLength(CYCLES);
    expect(left.markers).toHaveLength(CYCLES);
    for (const k of [...left.versions, ...left.markers]) expect(k.startsWith(OWN)).toBe(true);
    const keysOf = (xs: string[]) => xs.map((x) => x.split('@')[0]).sort();
    // One version and its marker per probe key, nothing else.
    expect(keysOf(left.markers)).toEqual(keysOf(left.versions));
    const r = rs[0];
    const fix = versionLeftFix(del, g);
    expect(r?.status).toBe('warn');
    expect(fix?.cause).toMatch(/Object Lock retention/);
    expect(fix?.fix.join('\n')).toContain('NoncurrentVersionExpiration');
  }, 60_000);
});

describe('s3:DeleteObjectVersion denied', () => {
  it(`warns s3_version_left with the IAM statement and lifecycle rule; exactly ${CYCLES} versions + ${CYCLES} markers stay`, async () => {
    const g = await ground({
      bucketOptions: { versioning: 'Enabled' },
      sessionPolicy: denyActions(['s3:DeleteObjectVersion']),
    });
    const rs = await cycles(g.env);
    expect(statuses(rs)).toEqual(Array(CYCLES).fill('warn:s3_version_left'));
    const del = rs[0]?.steps.find((s) => s.name === 'delete');
    expect(del?.error?.detail?.versionCause).toBe('denied');
    const left = await versionsUnder(g.bucket);
    expect(left.versions).toHaveLength(CYCLES);
    expect(left.markers).toHaveLength(CYCLES);
    const fix = versionLeftFix(del, g);
    const docs = (fix?.blocks ?? [])
      .filter((b) => b.kind === 'json')
      .map((b) => JSON.parse(b.text));
    expect(docs[0]).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'S3HealthDeleteObjectVersion',
          Effect: 'Allow',
          Action: ['s3:DeleteObjectVersion'],
          Resource: `arn:aws:s3:::${g.bucket}/healthcheck/*`,
        },
      ],
    });
    expect(docs[1]).toEqual({
      Rules: [
        {
          ID: 's3-health-probe-versions',
          Filter: { Prefix: 'healthcheck/' },
          Status: 'Enabled',
          NoncurrentVersionExpiration: { NoncurrentDays: 1 },
          Expiration: { ExpiredObjectDeleteMarker: true },
        },
      ],
    });
    expect(fix?.fix).toContain(
      `aws s3api put-bucket-lifecycle-configuration --bucket ${g.bucket} --lifecycle-configuration file://s3-health-lifecycle.json`,
    );
  }, 60_000);
});

describe('a PUT whose answer was lost, in a versioned bucket', () => {
  it('is removed by every version of its key; without s3:ListBucketVersions it is given up, not re-deleted each cycle', async () => {
    for (const [policy, expected] of [
      [undefined, { versions: 0, markers: 0 }],
      [denyActions(['s3:ListBucketVersions']), { versions: 1, markers: 1 }],
    ] as const) {
      const g = await ground({
        bucketOptions: { versioning: 'Enabled' },
        ...(policy === undefined ? {} : { sessionPolicy: policy }),
      });
      const proxy = await startFaultProxy({ target: rgw.endpoint });
      open.push(proxy);
      const config = useEnv({ ...g.env, AWS_ENDPOINT_URL_S3: proxy.url });
      const deps = createDeps(config, quiet);
      // radosgw stores the object; the answer never reaches the sidecar.
      await proxy.set({ kind: 'truncate' }, { method: 'PUT' });
      const first = (await cycle(config, deps)).get('s3');
      expect(first?.status).toBe('fail');
      const lost = deps.ownKeys.pending()[0] ?? '';
      await proxy.set({ kind: 'pass' });
      // Every DELETE of the lost key: a plain DELETE on AWS stacks one more
      // delete marker each time, so once the versions cannot be listed the
      // key must be given up, not retried.
      const deletes: string[] = [];
      let watching = true;
      const watch = (async () => {
        while (watching) {
          const e = await proxy
            .next({ method: 'DELETE', path: lost }, 'request', 300)
            .catch(() => undefined);
          if (e) deletes.push(e.url);
        }
      })();
      for (let i = 0; i < 5; i++)
        expect((await cycle(config, deps)).get('s3')?.status).toBe('pass');
      watching = false;
      await watch;
      const left = await versionsUnder(g.bucket);
      expect({ versions: left.versions.length, markers: left.markers.length }).toEqual(expected);
      expect(deps.ownKeys.pending()).toEqual([]);
      // One plain DELETE (its delete marker says versions exist), then only exact version ids.
      expect(deletes.filter((u) => !u.includes('versionId='))).toHaveLength(1);
    }
  }, 60_000);
});
