// The Debian part of the stand-in for node:24-bookworm-slim: debootstrap's
// minbase (what debian:bookworm-slim is built from), slimmed the way the
// official slim image is, plus the `node` user (uid/gid 1000) that the official
// node image adds before installing Node.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from '../docker/proc.ts';

export const SUITE = 'bookworm';

/**
 * The first Debian mirror apt is configured with, from sources.list and
 * sources.list.d (one-line and deb822 formats); apt ignores other file names.
 */
export function aptMirror(): string {
  const files = ['/etc/apt/sources.list'];
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort()) {
      if (f.endsWith('.list') || f.endsWith('.sources'))
        files.push(join('/etc/apt/sources.list.d', f));
    }
  } catch {
    /* no directory */
  }
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const found = file.endsWith('.sources') ? fromDeb822(text) : fromOneLine(text);
    if (found !== undefined) return found.replace(/\/+$/, '');
  }
  throw new Error('no Debian bookworm mirror found in /etc/apt/sources.list{,.d}');
}

function fromOneLine(text: string): string | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    // deb [options] URI suite components...
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$/.exec(line);
    if (m?.[2] === SUITE && m[3]?.split(/\s+/).includes('main')) return m[1];
  }
  return undefined;
}

function fromDeb822(text: string): string | undefined {
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (m?.[1] !== undefined && m[2] !== undefined) fields.set(m[1].toLowerCase(), m[2].trim());
    }
    if (fields.get('enabled') === 'no') continue;
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    if (!(fields.get('suites') ?? '').split(/\s+/).includes(SUITE)) continue;
    if (!(fields.get('components') ?? '').split(/\s+/).includes('main')) continue;
    const uri = fields.get('uris')?.split(/\s+/)[0];
    if (uri !== undefined && uri !== '') return uri;
  }
  return undefined;
}

export async function debianArch(): Promise<string> {
  return (await runOk(['dpkg', '--print-architecture'], { timeoutMs: 10_000 })).stdout.trim();
}

/** debootstrap in a private mount namespace: its /proc, /sys and /dev mounts die with it. */
export async function debootstrap(target: string, mirror: string, arch: string): Promise<void> {
  await runOk(
    [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      'debootstrap',
      '--variant=minbase',
      `--arch=${arch}`,
      SUITE,
      target,
      mirror,
    ],
    { timeoutMs: 15 * 60_000 },
  );
}

// What the official slim images keep out, also for packages installed later.
const DPKG_EXCLUDES = `# Kept out of this image, as in the official Debian slim images
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
`;

function emptyDir(dir: string, keep: (name: string) => boolean = () => false): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!keep(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

export function slim(root: string): void {
  for (const sub of ['man', 'groff', 'info', 'lintian', 'linda', 'locale']) {
    emptyDir(join(root, 'usr/share', sub));
  }
  for (const pkg of readdirSync(join(root, 'usr/share/doc'))) {
    emptyDir(join(root, 'usr/share/doc', pkg), (name) => name === 'copyright');
  }
  emptyDir(join(root, 'var/cache/apt/archives'), (name) => name === 'partial' || name === 'lock');
  emptyDir(join(root, 'var/cache/apt'), (name) => name === 'archives');
  emptyDir(join(root, 'var/lib/apt/lists'), (name) => name === 'partial');
  rmSync(join(root, 'var/log/bootstrap.log'), { force: true });
  // debootstrap copies these from the machine; docker supplies its own at run time.
  writeFileSync(join(root, 'etc/hostname'), '');
  writeFileSync(join(root, 'etc/resolv.conf'), '');
  writeFileSync(join(root, 'etc/dpkg/dpkg.cfg.d/docker-slim'), DPKG_EXCLUDES);
}

export async function addNodeUser(root: string): Promise<void> {
  await runOk(['chroot', root, 'groupadd', '--gid', '1000', 'node'], { timeoutMs: 30_000 });
  await runOk(
    [
      'chroot',
      root,
      'useradd',
      '--uid',
      '1000',
      '--gid',
      'node',
      '--shell',
      '/bin/bash',
      '--create-home',
      'node',
    ],
    { timeoutMs: 30_000 },
  );
}

export async function tarDir(dir: string, out: string): Promise<void> {
  await runOk(['tar', '--numeric-owner', '-C', dir, '-cf', out, '.'], { timeoutMs: 5 * 60_000 });
}
