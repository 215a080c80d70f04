// Mounts and cgroups a docker engine may leave in the machine's namespaces.
// dockerd runs in a mount namespace of its own, so normally there are none;
// these sweeps are the safety net for a daemon that was killed mid-way.
import { readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './proc.ts';

interface MountEntry {
  mountPoint: string;
  fsType: string;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) =>
    String.fromCharCode(Number.parseInt(oct, 8)),
  );
}

function readMounts(): MountEntry[] {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [left, right] = line.split(' - ');
    const mountPoint = left?.split(' ')[4];
    const fsType = right?.split(' ')[0];
    if (mountPoint !== undefined && fsType !== undefined) {
      entries.push({ mountPoint: unescapeOctal(mountPoint), fsType });
    }
  }
  return entries;
}

export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return readMounts()
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(prefix));
}

/** Deepest first; lazy, because a leftover nsfs mount may still be busy. */
export async function unmountUnder(dir: string): Promise<string[]> {
  const mounts = mountsUnder(dir).sort((a, b) => b.length - a.length);
  const failed: string[] = [];
  for (const mountPoint of mounts) {
    const result = await run(['umount', '-l', mountPoint], { timeoutMs: 10_000 });
    if (result.code !== 0 && mountsUnder(mountPoint).includes(mountPoint)) failed.push(mountPoint);
  }
  return failed;
}

/** Every cgroup hierarchy mounted here (v1 controllers and/or the v2 tree). */
function cgroupRoots(): string[] {
  return readMounts()
    .filter((m) => m.fsType === 'cgroup' || m.fsType === 'cgroup2')
    .map((m) => m.mountPoint);
}

function removeTree(dir: string): boolean {
  let entries: string[];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return true;
  }
  let ok = true;
  for (const child of entries) ok = removeTree(join(dir, child)) && ok;
  try {
    // cgroup directories are removed with rmdir even though they list files.
    rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') ok = false;
  }
  return ok;
}

/** Removes `<hierarchy>/<parent>` in every hierarchy; returns those that stay (busy). */
export function removeCgroupParent(parent: string): string[] {
  if (parent === '' || parent.includes('..')) throw new Error(`refusing cgroup parent ${parent}`);
  const left: string[] = [];
  for (const root of cgroupRoots()) {
    const dir = join(root, parent);
    if (!removeTree(dir)) left.push(dir);
  }
  return left;
}
