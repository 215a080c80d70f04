/**
 * V8 limits the `serve` command runs under when its caller set none, so the
 * image, `npx s3-health`, the npm bin and a bare `node dist/cli.js` hold the
 * same memory bound (contract §8). Measured (issue 21, 150 s of 0.1 s
 * cycles): no flags 228 MiB peak RSS, these 105 MiB; V8 otherwise grows its
 * young generation and its old-space limit far past what the retained heap
 * (about 17 MiB) needs. The image sets the same ones in NODE_OPTIONS.
 */
export const HEAP_FLAGS = ['--max-old-space-size=48', '--max-semi-space-size=1'] as const;

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
