import type { LoadResult, LoadSpec } from './load.ts';
import { baseEnv, spawnNode } from './procs.ts';

/** One autocannon run in its own process (bench/load.ts), so it never shares an event loop. */
export async function runLoadProcess(spec: LoadSpec): Promise<LoadResult> {
  const p = spawnNode('autocannon', ['bench/load.ts', JSON.stringify(spec)], baseEnv());
  const code = await p.exited;
  const last = p.output().trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('{')) {
    throw new Error(`load generator failed (${code}): ${p.output().slice(-1000)}`);
  }
  return JSON.parse(last) as LoadResult;
}
