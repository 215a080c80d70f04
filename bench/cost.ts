// Item 5: AWS requests per cycle by service, IMDS tokens per hour, bytes
// written, and the bill per host per month at the default interval: S3
// requests, KMS calls under SSE-KMS, IMDS token PUTs, and monitoring samples.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CycleRun } from './cycles.ts';
import type { IdleRun } from './idle.ts';
import type { Lane } from './lane.ts';
import { baseEnv, ROOT, spawnNode } from './procs.ts';
import { type Section, table } from './report.ts';
import type { Usage } from './sampling.ts';
import { fmt, ratio } from './stats.ts';

/**
 * S3 Standard request list prices, US East (N. Virginia) and EU (Ireland)
 * alike, from aws.amazon.com/s3/pricing. Not re-checked from this offline
 * machine; the page has shown these figures unchanged through 2024-2025.
 */
export const S3_PRICES = {
  asOf: 'as of 2025 (aws.amazon.com/s3/pricing, S3 Standard, us-east-1 / eu-west-1), not re-checked from this offline machine',
  /** PUT, COPY, POST, LIST, per 1,000 requests */
  tier1Per1000: 0.005,
  /** GET, SELECT and all other requests (HEAD included), per 1,000 */
  tier2Per1000: 0.0004,
  /** DELETE and CANCEL are free */
  deletePer1000: 0,
};

/**
 * AWS KMS list price for symmetric-key API requests (Decrypt, GenerateDataKey),
 * aws.amazon.com/kms/pricing, us-east-1 and eu-west-1 alike. Under SSE-KMS
 * without an S3 Bucket Key, S3 calls GenerateDataKey for every PUT and Decrypt
 * for every GET (HEAD and DELETE call none): one KMS request per counted PUT
 * and GET. The account's 20,000 free requests a month are left out.
 */
export const KMS_PRICES = {
  asOf: 'as of 2025 (aws.amazon.com/kms/pricing, symmetric-key requests), not re-checked from this offline machine',
  per10000: 0.03,
};

/**
 * Amazon Managed Service for Prometheus metric ingestion, first tier
 * (aws.amazon.com/prometheus/pricing): the per-sample price of a hosted
 * Prometheus; storage and queries are extra and smaller at this size.
 */
export const SAMPLE_PRICES = {
  asOf: 'as of 2025 (aws.amazon.com/prometheus/pricing, Amazon Managed Service for Prometheus ingestion, first 2 billion samples a month), not re-checked from this offline machine',
  per10Million: 0.9,
  scrapeSeconds: 30,
};

/** What the healthy sidecar's /metrics held when the bench captured it. */
export interface Exposition {
  series: number;
  bytes: number;
}

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

/** bench/fleet-results.md (the fleet tier's figures), quoted where it mentions series or samples. */
function fleetQuote(): string {
  const file = join(ROOT, 'bench', 'fleet-results.md');
  if (!existsSync(file)) {
    return 'bench/fleet-results.md (the fleet tier) was not present when this ran.';
  }
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /series|samples/i.test(l) && !l.startsWith('#'))
    .slice(0, 6);
  return `From [bench/fleet-results.md](fleet-results.md) (the fleet tier, its own run):\n\n${lines.map((l) => `> ${l}`).join('\n>\n')}`;
}

export function costSection(
  run: CycleRun,
  idle: IdleRun,
  sdk: SdkBaseline,
  expo: Exposition,
): Section {
  const a = per(idle.usage, idle.cycles);
  const b = per(run.usage, run.cycles);
  const cyclesPerHour = 3600 / idle.intervalSeconds;
  const cyclesPerMonth = cyclesPerHour * 24 * 30;
  // The healthy default-interval mix prices the month; the long run's carries its timeouts.
  // Its LIST is the once-per-process sweep of a predecessor's leftovers: one a
  // start, not one a cycle, so the month counts it once, not per cycle.
  const listsPerMonth = a.list > 0 ? 1 : 0;
  const s3PerMonth = cyclesPerMonth * (a.put + a.head + a.get + a.del) + listsPerMonth;
  const monthly =
    ((cyclesPerMonth * a.put + listsPerMonth) * S3_PRICES.tier1Per1000) / 1000 +
    (cyclesPerMonth * (a.head + a.get) * S3_PRICES.tier2Per1000) / 1000 +
    (cyclesPerMonth * a.del * S3_PRICES.deletePer1000) / 1000;
  const sdkImds = sdk.tokenPuts + sdk.gets;
  const tokensPerHour = a.imdsTokens * cyclesPerHour;
  const kmsPerCycle = a.put + a.get;
  const kmsMonthly = (cyclesPerMonth * kmsPerCycle * KMS_PRICES.per10000) / 10_000;
  const samplesPerMonth = expo.series * ((30 * 24 * 3600) / SAMPLE_PRICES.scrapeSeconds);
  const samplesMonthly = (samplesPerMonth * SAMPLE_PRICES.per10Million) / 1e7;
  const money = (x: number) => `$${fmt(x, 3)}`;
  const bill = table(
    ['per host, 30-day month, default interval', 'count', 'list price', 'cost'],
    [
      [
        'S3 requests (PUT, HEAD, GET, DELETE a cycle; one LIST a start)',
        fmt(s3PerMonth, 0),
        `PUT/LIST $${S3_PRICES.tier1Per1000} per 1,000, GET/HEAD $${S3_PRICES.tier2Per1000} per 1,000, DELETE free`,
        money(monthly),
      ],
      [
        'KMS requests under SSE-KMS (one per PUT and per GET, no S3 Bucket Key)',
        fmt(cyclesPerMonth * kmsPerCycle, 0),
        `$${KMS_PRICES.per10000} per 10,000`,
        money(kmsMonthly),
      ],
      [
        'IMDS token PUTs (counted by the bench)',
        fmt(cyclesPerMonth * a.imdsTokens, 0),
        'free (IMDS is not billed; the count is load on the host)',
        '$0',
      ],
      ['STS GetCallerIdentity', fmt(cyclesPerMonth * a.sts, 0), 'free', '$0'],
      [
        `monitoring: ${fmt(expo.series, 0)} series × a sample every ${SAMPLE_PRICES.scrapeSeconds} s`,
        `${fmt(samplesPerMonth / 1e6, 2)} M samples`,
        `$${SAMPLE_PRICES.per10Million} per 10 M samples ingested`,
        money(samplesMonthly),
      ],
      [
        '**total**, SSE-S3 / SSE-KMS',
        '',
        '',
        `**${money(monthly + samplesMonthly)} / ${money(monthly + kmsMonthly + samplesMonthly)}**`,
      ],
    ],
  );
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

**Cost per host per month** (${fmt(cyclesPerMonth, 0)} cycles at the default ${idle.intervalSeconds} s interval; counts per cycle from the default-interval column above, series from the healthy sidecar's /metrics captured in item 1):

${bill}

Prices: S3 Standard requests, ${S3_PRICES.asOf}; KMS, ${KMS_PRICES.asOf}; samples, ${SAMPLE_PRICES.asOf}. For a fleet of 1,000 hosts multiply by 1,000 ($${fmt((monthly + kmsMonthly + samplesMonthly) * 1000, 0)} a month with SSE-KMS). The probe object is deleted every cycle, so storage is nil. ${fleetQuote()}

- **IMDS token PUTs**: ${r(a.imdsTokens)} a cycle, ${r(tokensPerHour, 0)} an hour at the default interval (counted at the lane's IMDS emulator). One is the imds check's token step, which takes a fresh token every cycle so that a hop limit lowered on a running instance is seen (a cached token would hide it); the other is the SDK's default chain, which the credentials check re-creates every cycle so that a refresh that stopped working is seen (a cached provider would hide it).
- Bytes written: the ${r(a.s3Body, 0)}-byte probe object per cycle; the sidecar logs only verdict changes, so a healthy steady state writes ${r(a.log, 0)} log bytes a cycle and ${r(a.disk, 0)} bytes to disk.
- The long-run column includes the failures and re-probes of its short timeout (see Memory), so its per-cycle counts may differ slightly from the default interval's.`;
  return {
    title: '5. Cost per cycle and per host per month',
    body,
    targets: [],
    headlines: [
      `per cycle: ${r(a.imds, 1)} IMDS requests (${r(a.imdsTokens, 1)} token PUTs: ${r(tokensPerHour, 0)} an hour), ${r(a.sts, 1)} STS, ${r(a.s3, 1)} S3; per host per month at the default interval: S3 requests ${money(monthly)}, KMS under SSE-KMS ${money(kmsMonthly)}, monitoring ${fmt(expo.series, 0)} series = ${fmt(samplesPerMonth / 1e6, 2)} M samples ${money(samplesMonthly)} (list prices as of 2025, not re-checked)`,
    ],
  };
}
