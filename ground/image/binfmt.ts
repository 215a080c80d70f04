// Running another architecture's binaries here: the kernel's binfmt_misc
// hands them to Debian's qemu-user-static. Registered with the F flag (the
// kernel opens the interpreter once, at registration), so they also run inside
// chroots and containers that have no QEMU of their own.
import { existsSync, readFileSync } from 'node:fs';
import { run } from '../docker/proc.ts';

const BINFMT = '/proc/sys/fs/binfmt_misc';

/** Debian's arch name → the handler name binfmt-support registers for it. */
const HANDLERS: Record<string, string> = { arm64: 'qemu-aarch64', amd64: 'qemu-x86_64' };

export type Emulation = { ok: true; handler: string; flags: string } | { ok: false; why: string };

function handlerState(handler: string): { enabled: boolean; flags: string } | undefined {
  try {
    const text = readFileSync(`${BINFMT}/${handler}`, 'utf8');
    return {
      enabled: text.split('\n')[0] === 'enabled',
      flags: /^flags: (\S*)$/m.exec(text)?.[1] ?? '',
    };
  } catch {
    return undefined;
  }
}

/**
 * Makes `arch` binaries run on this machine: mounts binfmt_misc where it is
 * not, and enables the QEMU handler. Says why where it cannot.
 */
export async function ensureEmulation(arch: string): Promise<Emulation> {
  const handler = HANDLERS[arch];
  if (handler === undefined) return { ok: false, why: `no QEMU handler known for ${arch}` };
  if (!existsSync('/usr/sbin/update-binfmts'))
    return { ok: false, why: 'binfmt-support is not installed (apt-get install binfmt-support)' };
  if (!existsSync(`/usr/libexec/qemu-binfmt/${arch === 'arm64' ? 'aarch64' : 'x86_64'}-binfmt-P`))
    return {
      ok: false,
      why: 'qemu-user-static is not installed (apt-get install qemu-user-static)',
    };
  if (!existsSync(`${BINFMT}/register`)) {
    const m = await run(['mount', '-t', 'binfmt_misc', 'binfmt_misc', BINFMT], {
      timeoutMs: 10_000,
    });
    if (m.code !== 0)
      return { ok: false, why: `cannot mount binfmt_misc at ${BINFMT}: ${m.stderr.trim()}` };
  }
  if (handlerState(handler)?.enabled !== true) {
    const e = await run(['update-binfmts', '--enable', handler], { timeoutMs: 30_000 });
    if (e.code !== 0)
      return { ok: false, why: `update-binfmts --enable ${handler}: ${e.stderr.trim()}` };
  }
  const state = handlerState(handler);
  if (state?.enabled !== true)
    return { ok: false, why: `${handler} is registered but not enabled` };
  if (!state.flags.includes('F'))
    return {
      ok: false,
      why: `${handler} lacks the F flag (flags: ${state.flags}): chroots would not find QEMU`,
    };
  return { ok: true, handler, flags: state.flags };
}
