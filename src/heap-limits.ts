import { parseArgs } from 'node:util';
import { CLI_OPTIONS } from './cli-options.ts';

/**
 * The limits the `serve` command runs under when its caller set none, so the
 * image, `npx s3-health`, the npm bin and a bare `node dist/cli.js` hold the
 * same memory bound (contract §8). Measured (issue 21, 4 minutes of 0.1 s
 * cycles, peak RSS, a bare node 50 MiB): no flags 228 MiB; a capped old space
 * and a 1 MiB young generation 114 MiB (V8 otherwise grows its young
 * generation and its old-space limit far past what the retained heap, about
 * 17 MiB, needs); plus one V8 worker thread instead of four 107 MiB; plus two
 * malloc arenas instead of one per thread 103 MiB. The image sets the same.
 */
export const HEAP_FLAGS = [
  '--max-old-space-size=48',
  '--max-semi-space-size=1',
  '--v8-pool-size=1',
] as const;

/**
 * glibc gives every thread that allocates an arena of its own and rarely hands
 * their pages back; two are plenty for one event loop and its helper threads.
 */
export const ALLOCATOR_ENV = { MALLOC_ARENA_MAX: '2' } as const;

/** ALLOCATOR_ENV under the caller's own values: a variable already set wins. */
export function withAllocatorEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...ALLOCATOR_ENV, ...env };
}

/** V8 spells its flags with `-` or `_`; the caller's own spelling of a flag counts as set. */
function flagName(arg: string): string {
  return (arg.split('=')[0] ?? '').replace(/_/g, '-');
}

/** The HEAP_FLAGS the caller did not set (on the command line or in NODE_OPTIONS). */
export function heapFlagsToAdd(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[] {
  const given = new Set(
    [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].filter((a) => a !== '').map(flagName),
  );
  return HEAP_FLAGS.filter((f) => !given.has(flagName(f)));
}

/** Whether the bin's arguments run `serve` (the default command); unparsable ones do not. */
export function isServe(argv: readonly string[]): boolean {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: CLI_OPTIONS,
      allowPositionals: true,
    });
    return values.help !== true && (positionals[0] ?? 'serve') === 'serve';
  } catch {
    return false;
  }
}
