import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release } from 'node:os';
import { ROOT } from './procs.ts';
import type { MachineInfo, Provenance } from './report.ts';

function load(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

function running(): number {
  const stat = readFileSync('/proc/stat', 'utf8');
  return Number(/^procs_running (\d+)/m.exec(stat)?.[1] ?? Number.NaN);
}

function count(name: string): number {
  const r = spawnSync('pgrep', ['-x', name], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

export function machineAtStart(): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? Number.NaN);
  return {
    date: new Date().toISOString(),
    node: process.version,
    nproc: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    memTotal: `${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    kernel: release(),
    loadAtStart: load(),
    loadAtEnd: '',
    // This process is one of them.
    runnableAtStart: Math.max(0, running() - 1),
    otherRadosgw: count('radosgw'),
  };
}

export function machineAtEnd(m: MachineInfo): MachineInfo {
  return { ...m, loadAtEnd: load() };
}

/** The commit checked out and what differs from it, read before anything is written. */
export function provenance(): Provenance {
  const git = (args: string[]) =>
    spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git(['rev-parse', 'HEAD']) || 'unknown (not a git checkout)';
  const dirty = git(['status', '--porcelain'])
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.slice(3));
  return { commit, dirty };
}
