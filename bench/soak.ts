// `npm run bench -- --soak[=MINUTES]`: the sidecar as a user runs it (the
// bundle), probing a healthy local ground for an hour by default, next to a
// bare node process; RSS is sampled every 10 s and its slope reported from
// minute 10 on, once start-up, lazy loading and the heap's sizing are behind
// it. Not part of `npm run bench` or CI: it takes the hour it measures.
// `--soak-interval=SECONDS` sets the probe interval (default 1 s: 3,600
// cycles an hour, so a per-cycle leak shows; 30 is the deployed default).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBareNode } from './bare-node.ts';
import type { Lane } from './lane.ts';
import { spawnSidecar, untilFirstVerdict } from './lane.ts';
import { ROOT, rssBytes, sleep } from './procs.ts';
import { sample } from './sampling.ts';
import { fmt, mib, slope } from './stats.ts';

export interface SoakOptions {
  minutes: number;
  intervalSeconds: number;
  /** samples taken before this are left out of the slope */
  warmupMinutes: number;
  sampleSeconds: number;
}

export interface SoakPoint {
  minutes: number;
  cycles: number;
  rss: number;
  heapUsed: number;
  bareRss: number;
}

export interface SoakResult {
  opts: SoakOptions;
  points: SoakPoint[];
  /** bytes of RSS per hour, least squares over the samples after the warm-up */
  rssSlopePerHour: number;
  bareSlopePerHour: number;
  heapSlopePerHour: number;
  /** bytes of RSS per cycle over the same samples */
  rssSlopePerCycle: number;
}

/** Reads `--soak` / `--soak=MINUTES` and `--soak-interval=SECONDS` from argv; undefined: no soak. */
export function soakOptions(argv: readonly string[]): SoakOptions | undefined {
  const flag = argv.find((a) => a === '--soak' || a.startsWith('--soak='));
  if (flag === undefined) return undefined;
  const minutes = flag.includes('=') ? Number(flag.split('=')[1]) : 60;
  const iv = argv.find((a) => a.startsWith('--soak-interval='));
  const intervalSeconds = iv ? Number(iv.split('=')[1]) : 1;
  if (!(minutes > 0) || !(intervalSeconds >= 0.1)) {
    throw new Error('usage: npm run bench -- --soak[=MINUTES] [--soak-interval=SECONDS ≥ 0.1]');
  }
  // Short soaks (trying the option out) keep a proportionate warm-up.
  return { minutes, intervalSeconds, warmupMinutes: Math.min(10, minutes / 6), sampleSeconds: 10 };
}

export async function runSoak(
  lane: Lane,
  opts: SoakOptions,
  log: (m: string) => void,
): Promise<SoakResult> {
  const bare = await startBareNode();
  try {
    const s = await spawnSidecar(lane, {
      intervalSeconds: opts.intervalSeconds,
      timeoutSeconds: Math.min(5, opts.intervalSeconds),
    });
    try {
      await untilFirstVerdict(s);
      const t0 = performance.now();
      const points: SoakPoint[] = [];
      const end = t0 + opts.minutes * 60_000;
      let lastLog = 0;
      while (performance.now() < end) {
        const x = await sample(s, t0);
        const p = {
          minutes: x.t / 60_000,
          cycles: x.cycles,
          rss: x.rss,
          heapUsed: x.heapUsed,
          bareRss: rssBytes(bare.proc.pid),
        };
        points.push(p);
        if (p.minutes - lastLog >= 5 || points.length === 1) {
          lastLog = p.minutes;
          log(
            `soak ${fmt(p.minutes, 0)} min: ${p.cycles} cycles, RSS ${mib(p.rss)} (bare node ${mib(p.bareRss)})`,
          );
        }
        await sleep(opts.sampleSeconds * 1000);
      }
      const kept = points.filter((p) => p.minutes >= opts.warmupMinutes);
      const hours = kept.map((p) => p.minutes / 60);
      return {
        opts,
        points,
        rssSlopePerHour: slope(
          hours,
          kept.map((p) => p.rss),
        ),
        bareSlopePerHour: slope(
          hours,
          kept.map((p) => p.bareRss),
        ),
        heapSlopePerHour: slope(
          hours,
          kept.map((p) => p.heapUsed),
        ),
        rssSlopePerCycle: slope(
          kept.map((p) => p.cycles),
          kept.map((p) => p.rss),
        ),
      };
    } finally {
      await s.close();
    }
  } finally {
    await bare.close();
  }
}

/** Markdown for the soak, written to bench/out/soak.md (results.md is the ten-minute bench's). */
export function soakReport(r: SoakResult, commit: string): string {
  const first = r.points[0];
  const last = r.points.at(-1);
  const after = r.points.find((p) => p.minutes >= r.opts.warmupMinutes);
  const lines = [
    '# s3-health soak',
    '',
    `commit ${commit}`,
    '',
    `The bundled sidecar (\`node dist/cli.js serve\`, as \`s3-health serve\` runs) probed a healthy local ground every ${r.opts.intervalSeconds} s for ${fmt(r.opts.minutes, 0)} minutes, next to a bare node process; RSS every ${r.opts.sampleSeconds} s. Slopes are least squares over the samples from minute ${fmt(r.opts.warmupMinutes, 0)} on.`,
    '',
    '| figure | start | from the warm-up on | end | slope |',
    '| --- | --- | --- | --- | --- |',
    `| sidecar RSS | ${first ? mib(first.rss) : 'n/a'} | ${after ? mib(after.rss) : 'n/a'} | ${last ? mib(last.rss) : 'n/a'} | ${mib(r.rssSlopePerHour)} per hour, ${fmt(r.rssSlopePerCycle, 0)} B per cycle |`,
    `| sidecar V8 heap used (garbage included) | ${first ? mib(first.heapUsed) : 'n/a'} | ${after ? mib(after.heapUsed) : 'n/a'} | ${last ? mib(last.heapUsed) : 'n/a'} | ${mib(r.heapSlopePerHour)} per hour |`,
    `| bare node RSS | ${first ? mib(first.bareRss) : 'n/a'} | ${after ? mib(after.bareRss) : 'n/a'} | ${last ? mib(last.bareRss) : 'n/a'} | ${mib(r.bareSlopePerHour)} per hour |`,
    '',
    `Cycles: ${last?.cycles ?? 0}.`,
    '',
  ];
  return lines.join('\n');
}

export function writeSoak(r: SoakResult, commit: string): string {
  const dir = join(ROOT, 'bench', 'out');
  mkdirSync(dir, { recursive: true });
  const md = soakReport(r, commit);
  writeFileSync(join(dir, 'soak.md'), md);
  writeFileSync(join(dir, 'soak.ndjson'), `${JSON.stringify(r)}\n`);
  return md;
}
