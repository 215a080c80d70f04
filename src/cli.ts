#!/usr/bin/env node
// The bin. It runs before the program is read, for two things only the first
// lines of a process can do; then it loads the commands (src/commands.ts,
// dist/commands.js in the package: the bundle).
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { heapFlagsToAdd, isServe, withAllocatorEnv } from './heap-limits.ts';

/**
 * A long-lived `serve` started without V8 limits replaces itself (execve: same
 * PID, so signals and the container's init are unaffected, and no second
 * process) with the same command plus HEAP_FLAGS, and ALLOCATOR_ENV in its
 * environment. The caller's own flags and variables win.
 * Done here, before the bundle is read, so the first process costs a bare
 * Node start and nothing more.
 */
function withOwnHeapLimits(): void {
  const script = process.argv[1];
  if (script === undefined || process.execve === undefined) return;
  if (!isServe(process.argv.slice(2))) return;
  const add = heapFlagsToAdd(process.execArgv, process.env.NODE_OPTIONS);
  if (add.length === 0) return;
  process.execve(
    process.execPath,
    [process.execPath, ...add, ...process.execArgv, script, ...process.argv.slice(2)],
    withAllocatorEnv(process.env),
  );
}

/**
 * Where V8's compiled code for the bundle is kept across starts (issue 21): a
 * folder of this user's own under the OS temporary directory, else nowhere.
 * Checked here rather than left to `enableCompileCache()`: Node's recursive
 * mkdir never returns where the path runs through /proc (a TMPDIR there hung
 * the bin, Node 24.21), and a folder another user made is not trusted.
 */
function compileCacheDir(): string | undefined {
  const dir = join(tmpdir(), 'node-compile-cache');
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  try {
    accessSync(dir, constants.W_OK);
    return statSync(dir).uid === process.getuid?.() ? dir : undefined;
  } catch {
    return undefined;
  }
}

withOwnHeapLimits();
// NODE_COMPILE_CACHE, when set, has Node keep the cache already (the image
// points it at the one it warmed at build time).
if (process.env.NODE_COMPILE_CACHE === undefined) {
  const dir = compileCacheDir();
  if (dir !== undefined) enableCompileCache(dir);
}
// A computed specifier, so the bundler leaves the commands in their own file.
await import(new URL(`./commands${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href);
