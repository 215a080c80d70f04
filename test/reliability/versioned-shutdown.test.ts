// The sidecar process on versioned buckets: cycles, then SIGTERM with a probe
// object in flight (GET held), leave no version and no delete marker behind.
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { adminS3 } from '../../ground/radosgw/info.ts';
import type { FaultGround } from './support/ground.ts';
import { closeAll, openFaultGround, startSidecar } from './support/harness.ts';
import { waitPass } from './support/matrix.ts';
import { addRow } from './support/summary.ts';

const admin = adminS3(inject('rgw'));
const grounds: FaultGround[] = [];

afterAll(async () => {
  for (const g of grounds.slice(1)) await g.close();
  await closeAll(grounds[0], admin);
});

async function leftUnder(bucket: string) {
  const out = await admin.send(
    new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'healthcheck/' }),
  );
  return { versions: out.Versions?.length ?? 0, markers: out.DeleteMarkers?.length ?? 0 };
}

describe('versioned buckets, the real process', () => {
  it.each(['Enabled', 'Suspended'] as const)(
    '%s: 10 cycles, then SIGTERM with a GET in flight: exit 0, 0 versions, 0 delete markers',
    async (versioning) => {
      const g = await openFaultGround({ versioning });
      grounds.push(g);
      const s = await startSidecar(g, {
        S3_HEALTH_INTERVAL_SECONDS: '0.5',
        S3_HEALTH_TIMEOUT_SECONDS: '0.5',
      });
      await waitPass(s.url, 20_000);
      for (let i = 0; i < 10; i++) await g.proxies.s3.next({ method: 'PUT' }, 'answered', 10_000);
      await g.proxies.s3.set(
        { kind: 'delay', ms: 400 },
        { method: 'GET', path: /\/healthcheck\// },
      );
      await g.proxies.s3.next({ method: 'GET', path: /\/healthcheck\// }, 'request', 10_000);
      const { code } = await s.stop('SIGTERM');
      await g.clearFaults();
      const left = await leftUnder(g.bucket);
      addRow('data', [
        `versioning ${versioning}: 10+ cycles, SIGTERM mid-cycle`,
        0,
        'all',
        left.versions + left.markers,
      ]);
      expect(code).toBe(0);
      expect(left).toEqual({ versions: 0, markers: 0 });
    },
    60_000,
  );
});
