// Evidence for the closing note: V8 CPU profiles (--cpu-prof) of a sidecar
// from process start through a stretch of short-interval cycles, and of one
// under /healthz load, summarised as self time by package and top functions.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Lane, type Sidecar, spawnSidecar, untilFirstVerdict } from './lane.ts';
import { runLoadProcess } from './load-proc.ts';
import { ROOT, sleep } from './procs.ts';
import { table } from './report.ts';
import { fmt } from './stats.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  byPackage: [string, number][];
  topFunctions: [string, number][];
}

function packageOf(url: string): string {
  if (url === '') return '(native / idle / gc)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1]) return nm[1];
  if (url.startsWith('node:')) return 'node: internals';
  const local = /\/work\/[^/]+\/(src|bench|ground)\//.exec(url) ?? /\/(src)\//.exec(url);
  if (local?.[1]) return `${local[1]}/ (s3-health)`;
  return url.replace(/^file:\/\//, '').slice(-40);
}

export function summarise(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const pkg = new Map<string, number>();
  const fn = new Map<string, number>();
  let totalMs = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    totalMs += ms;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)' || name === '(program)') {
      pkg.set(name, (pkg.get(name) ?? 0) + ms);
      continue;
    }
    const p = packageOf(n.callFrame.url);
    pkg.set(p, (pkg.get(p) ?? 0) + ms);
    const where = n.callFrame.url
      ? `${packageOf(n.callFrame.url)} ${n.callFrame.url.split('/').at(-1)}:${n.callFrame.lineNumber + 1}`
      : '';
    const key = `${name} ${where}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + ms);
  }
  const top = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k);
  return { totalMs, byPackage: top(pkg, 8), topFunctions: top(fn, 5) };
}

/** Runs one sidecar under --cpu-prof while `during` acts on it; the profile is written at its exit. */
async function withProfile(
  lane: Lane,
  opts: { intervalSeconds: number; timeoutSeconds: number },
  during: (s: Sidecar) => Promise<void>,
): Promise<ProfileSummary> {
  mkdirSync(join(ROOT, 'bench', 'out'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'bench', 'out', 'prof-'));
  const s = await spawnSidecar(lane, {
    ...opts,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    // The sources, not the bundle: self time is then attributed to each package's own files.
    script: 'src/cli.ts',
  });
  try {
    await during(s);
  } finally {
    // SIGTERM: the sidecar exits through process.exit, which writes the profile.
    await s.close();
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no .cpuprofile written');
  return summarise(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile);
}

/** Start-up through the first verdict, then `cycleSeconds` of 0.1 s cycles. */
export function profileCycles(lane: Lane, cycleSeconds: number): Promise<ProfileSummary> {
  return withProfile(lane, { intervalSeconds: 0.1, timeoutSeconds: 0.1 }, async (s) => {
    await untilFirstVerdict(s);
    await sleep(cycleSeconds * 1000);
  });
}

/** A healthy sidecar at the default interval under saturating load on one route. */
export function profileRoute(
  lane: Lane,
  path: string,
  seconds: number,
  connections: number,
): Promise<ProfileSummary> {
  return withProfile(lane, { intervalSeconds: 30, timeoutSeconds: 5 }, async (s) => {
    await untilFirstVerdict(s);
    await runLoadProcess({
      url: `${s.url}${path}`,
      connections,
      durationSeconds: seconds,
      overallRate: 0,
    });
  });
}

export function profileNote(title: string, p: ProfileSummary): string {
  return `**CPU profile: ${title}** (\`node --cpu-prof\`; ${fmt(p.totalMs, 0)} ms sampled; raw profiles in bench/out/prof-*/, open them in Chrome DevTools or speedscope):

${table(
  ['self time by package', 'ms', 'share'],
  p.byPackage.map(([k, ms]) => [k, fmt(ms, 0), `${fmt((ms / p.totalMs) * 100, 1)} %`]),
)}

${table(
  ['top-5 functions by self time', 'ms'],
  p.topFunctions.map(([k, ms]) => [`\`${k}\``, fmt(ms, 0)]),
)}`;
}
