// One guard for every process a test, the demo or the bench runs: a socket to
// EC2's or ECS's metadata addresses throws before a packet leaves. The test
// process installs it in its setup file; every node process the run spawns
// gets it by `--import` of network-guard-preload.ts (GUARD_NODE_ARGS), so a
// child that missed an environment variable still cannot reach the real one.
import { readlinkSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const METADATA_ADDRESSES: ReadonlySet<string> = new Set([
  '169.254.169.254',
  'fd00:ec2::254',
  '169.254.170.2',
  '169.254.170.23',
]);

/**
 * Set by the tiers that run their own metadata emulator on 169.254.169.254
 * inside network namespaces they created: the network namespace that must
 * stay guarded (the run's own, as /proc/self/ns/net names it). A process in
 * any other namespace is inside the run's namespaces and may connect there.
 */
export const FORBIDDEN_NETNS_ENV = 'S3H_FORBIDDEN_NETNS';

/** Set once the guard is in; a test-only tripwire reads it to refuse to run unguarded. */
export const GUARD_MARK = Symbol.for('s3-health.network-guard');

const PRELOAD = fileURLToPath(new URL('./network-guard-preload.ts', import.meta.url));

/** First on every node command line the run spawns (before the script). */
export const GUARD_NODE_ARGS: readonly string[] = ['--import', pathToFileURL(PRELOAD).href];

function targetHost(args: unknown[]): string | undefined {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === 'object' && first !== null && 'host' in first) {
    const h = (first as { host?: unknown }).host;
    return typeof h === 'string' ? h : undefined;
  }
  return typeof args[1] === 'string' ? args[1] : undefined;
}

/** Whether this process runs inside a namespace of the run's own (see FORBIDDEN_NETNS_ENV). */
function inOwnNamespace(): boolean {
  const forbidden = process.env[FORBIDDEN_NETNS_ENV];
  if (forbidden === undefined || forbidden === '') return false;
  try {
    return readlinkSync('/proc/self/ns/net') !== forbidden;
  } catch {
    return false;
  }
}

type ConnectFn = (...args: unknown[]) => net.Socket;

/** Patches net.Socket#connect in this process; `who` names it in the error. */
export function installNetworkGuard(who: string): void {
  const marked = globalThis as { [GUARD_MARK]?: true };
  if (marked[GUARD_MARK]) return;
  const original = net.Socket.prototype.connect as unknown as ConnectFn;
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    const host = targetHost(args)?.replace(/^\[|\]$/g, '');
    if (host !== undefined && METADATA_ADDRESSES.has(host) && !inOwnNamespace()) {
      throw new Error(`network guard: ${who} tried to reach ${host}; point it at an emulator`);
    }
    return original.apply(this, args);
  } as unknown as typeof net.Socket.prototype.connect;
  marked[GUARD_MARK] = true;
}
