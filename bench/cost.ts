// Item 5: AWS requests per cycle by service, IMDS tokens per hour, bytes
// written, and the monthly S3 request bill at the default interval.
import type { CycleRun } from './cycles.ts';
import type { IdleRun } from './idle.ts';
import type { Lane } from './lane.ts';
import { baseEnv, spawnNode } from './procs.ts';
import { type Section, table } from './report.ts';
import type { Usage } from './sampling.ts';
import { fmt, ratio } from './stats.ts';

/**
 * S3 Standard request list prices, US East (N. Virginia) and EU (Ireland)
 * alike, from aws.amazon.com/s3/pricing. Not re-checked from this offline
 * machine; the page has shown these figures unchanged through 2024-2025.
 */
export const S3_PRICES = {
  asOf: '2025 (aws.amazon.com/s3/pricing, S3 Standard, us-east-1 / eu-west-1)',
  /** PUT, COPY, POST, LIST, per 1,000 requests */
  tier1Per1000: 0.005,
  /** GET, SELECT and all other requests (HEAD included), per 1,000 */
  tier2Per1000: 0.0004,
  /** DELETE and CANCEL are free */
  deletePer1000: 0,
};

export interface SdkBaseline {
  tokenPuts: number;
  gets: number;
}

/** IMDS requests of one default-chain resolution by the bare SDK, against the lane's emulator. */
export async function measureSdkBaseline(lane: Lane): Promise<SdkBaseline> {
  lane.ground.imds.resetCounters();
  const p = spawnNode('sdk-resolve', ['bench/sdk-resolve.ts'], {
    ...baseEnv(),
    AWS_EC2_METADATA_SERVICE_ENDPOINT: lane.ground.env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? '',
  });
  const code = await p.exited;
  if (code !== 0) throw new Error(`sdk-resolve failed: ${p.output().slice(-500)}`);
  const c = lane.ground.imds.counters();
  return { tokenPuts: c.tokenPuts, gets: c.gets };
}

function per(u: Usage, cycles: number) {
  const d = (n: number) => (cycles > 0 ? n / cycles : Number.NaN);
  const s3 = (op: string) => d(u.s3ByOp[op] ?? 0);
  return {
    imdsTokens: d(u.imdsTokenPuts),
    imdsGets: d(u.imdsGets),
    imds: d(u.imdsTokenPuts + u.imdsGets),
    sts: d(u.sts),
    put: s3('PutObject'),
    head: s3('HeadObject'),
    get: s3('GetObject'),
    del: s3('DeleteObject'),
    list: s3('ListObjectsV2'),
    s3: d(u.s3Total),
    s3Body: d(u.s3BodyBytes),
    s3Wire: d(u.s3RequestBytes),
    wchar: d(u.wchar),
    disk: d(u.writeBytes),
    log: d(u.logBytes),
  };
}

export function costSection(run: CycleRun, idle: IdleRun, sdk: SdkBaseline): Section {
  const a = per(idle.usage, idle.cycles);
  const b = per(run.usage, run.cycles);
  const cyclesPerHour = 3600 / idle.intervalSeconds;
  const cyclesPerMonth = cyclesPerHour * 24 * 30;
  // The healthy default-interval mix prices the month; the long run's carries its timeouts.
  // Its one LIST is the once-per-process sweep of a predecessor's leftovers.
  const tier1 = a.put + a.list;
  const tier2 = a.head + a.get;
  const monthly =
    (cyclesPerMonth * tier1 * S3_PRICES.tier1Per1000) / 1000 +
    (cyclesPerMonth * tier2 * S3_PRICES.tier2Per1000) / 1000 +
    (cyclesPerMonth * a.del * S3_PRICES.deletePer1000) / 1000;
  const sdkImds = sdk.tokenPuts + sdk.gets;
  const tokensPerHour = a.imdsTokens * cyclesPerHour;
  const r = (x: number, digits = 2) => fmt(x, digits);
  const body = `${table(
    [
      'per cycle',
      `default interval (${idle.intervalSeconds} s, ${idle.cycles} cycles)`,
      `short interval (${run.intervalSeconds} s, ${fmt(run.cycles, 0)} cycles)`,
      '**baseline**',
      'ratio',
    ],
    [
      [
        'IMDS requests (token PUT + GET)',
        r(a.imds),
        r(b.imds),
        `${sdkImds} (one default-chain credential fetch by the bare SDK)`,
        `${r(ratio(a.imds, sdkImds))}×`,
      ],
      ['  of which token PUTs', r(a.imdsTokens), r(b.imdsTokens), String(sdk.tokenPuts), ''],
      ['STS requests (GetCallerIdentity)', r(a.sts), r(b.sts), '', ''],
      [
        'S3 requests',
        r(a.s3),
        r(b.s3),
        '2 (floor for a write probe: PUT + DELETE)',
        `${r(ratio(b.s3, 2))}×`,
      ],
      [
        '  PUT / HEAD / GET / DELETE / LIST',
        [a.put, a.head, a.get, a.del, a.list].map((x) => r(x, 3)).join(' / '),
        [b.put, b.head, b.get, b.del, b.list].map((x) => r(x, 3)).join(' / '),
        '',
        '',
      ],
      ['S3 payload bytes sent (probe objects)', r(a.s3Body, 0), r(b.s3Body, 0), '', ''],
      ['S3 bytes sent incl. request lines and headers', r(a.s3Wire, 0), r(b.s3Wire, 0), '', ''],
      ['bytes through write syscalls (sockets, log pipe)', r(a.wchar, 0), r(b.wchar, 0), '', ''],
      ['bytes written to storage (disk)', r(a.disk, 0), r(b.disk, 0), '', ''],
      ['log bytes (stdout/stderr)', r(a.log, 0), r(b.log, 0), '', ''],
    ],
  )}

- **IMDS tokens per hour** at the default interval: ${r(tokensPerHour, 0)} (${r(a.imdsTokens)} token PUT(s) a cycle × ${fmt(cyclesPerHour, 0)} cycles). The sidecar's own IMDS client caches its token for its 6 h TTL; the PUTs come from the SDK's default chain, which the credentials check re-creates every cycle so that a refresh that stopped working is seen (a cached provider would hide it).
- **S3 request bill** at the default interval, S3 Standard list prices (${S3_PRICES.asOf}: PUT/LIST $${S3_PRICES.tier1Per1000} per 1,000, GET/HEAD $${S3_PRICES.tier2Per1000} per 1,000, DELETE free): ${fmt(cyclesPerMonth, 0)} cycles in a 30-day month → **$${r(monthly, 3)} per host per month** (${fmt(monthly * 1000, 0)} USD per month for a fleet of 1,000 hosts). STS GetCallerIdentity and IMDS are not billed. The probe object is deleted every cycle, so storage is nil.
- Bytes written: the ${r(a.s3Body, 0)}-byte probe object per cycle; the sidecar logs only verdict changes, so a healthy steady state writes ${r(a.log, 0)} log bytes a cycle and ${r(a.disk, 0)} bytes to disk.
- The long-run column includes the failures and re-probes of its short timeout (see Memory), so its per-cycle counts may differ slightly from the default interval's.`;
  return {
    title: '5. Cost per cycle',
    body,
    targets: [],
    headlines: [
      `per cycle: ${r(a.imds, 1)} IMDS, ${r(a.sts, 1)} STS, ${r(a.s3, 1)} S3 requests; ${r(tokensPerHour, 0)} IMDS tokens/h; S3 requests ≈ $${r(monthly, 2)} per host per month at the default interval`,
    ],
  };
}
