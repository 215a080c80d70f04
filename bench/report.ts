// The shapes every benchmark returns and the markdown they become.

export interface Target {
  item: string;
  target: string;
  measured: string;
  met: boolean;
  /** for a miss: what limits it and what would move it */
  limit?: string;
  /** the issue that set the target, for the side-by-side table at the top */
  issue?: number;
}

/** What the run measured: the commit checked out and whether the tree differed from it. */
export interface Provenance {
  commit: string;
  /** paths `git status --porcelain` listed when the run started; empty = clean */
  dirty: string[];
}

export interface Section {
  title: string;
  /** markdown: tables and notes */
  body: string;
  targets: Target[];
  /** one-line figures for the README */
  headlines: string[];
}

export interface MachineInfo {
  date: string;
  node: string;
  nproc: number;
  cpuModel: string;
  memTotal: string;
  kernel: string;
  loadAtStart: string;
  loadAtEnd: string;
  /** other runnable processes at start (/proc/stat procs_running) */
  runnableAtStart: number;
  otherRadosgw: number;
}

export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function targetsTable(targets: Target[]): string {
  return table(
    ['item', 'target', 'measured', 'met'],
    targets.map((t) => [t.item, t.target, t.measured, t.met ? 'yes' : '**no**']),
  );
}

export function renderResults(
  machine: MachineInfo,
  sections: Section[],
  meta: { totalSeconds: number; notes: string[]; provenance: Provenance },
): string {
  const targets = sections.flatMap((s) => s.targets);
  const missed = targets.filter((t) => !t.met);
  const out: string[] = [];
  out.push('# s3-health benchmarks');
  out.push('');
  out.push(
    'Written by `npm run bench` (bench/run.ts). Every figure is measured in this run, on this machine, next to a baseline measured in the same run; ratios are sidecar ÷ baseline. The sidecar runs as a real process, as `s3-health serve` runs it (`node dist/cli.js serve`, the bundle `npm run build` writes, built from this tree; item 3 also starts the sources), against the local ground: a real radosgw (S3), the IMDS emulator handing out real temporary credentials, and the STS endpoint, all on loopback.',
  );
  out.push('');
  const { commit, dirty } = meta.provenance;
  out.push(`commit ${commit}`);
  out.push('');
  out.push(
    dirty.length === 0
      ? 'tree: clean (no change to tracked or untracked files when the run started)'
      : `tree: **dirty** when the run started (${dirty.length} path${dirty.length === 1 ? '' : 's'}: ${dirty
          .slice(0, 10)
          .map((d) => `\`${d}\``)
          .join(
            ', ',
          )}${dirty.length > 10 ? ', …' : ''}): the figures are of the commit plus these changes`,
  );
  out.push('');
  const byIssue = targets.filter((t) => t.issue === 13);
  if (byIssue.length > 0) {
    out.push('## Issue 13 targets, side by side (this run)');
    out.push('');
    out.push(targetsTable(byIssue));
    out.push('');
  }
  out.push('## Machine');
  out.push('');
  out.push(
    table(
      ['what', 'value'],
      [
        ['date', machine.date],
        ['Node', machine.node],
        ['CPUs (nproc)', String(machine.nproc)],
        ['CPU model', machine.cpuModel],
        ['memory', machine.memTotal],
        ['kernel', machine.kernel],
        ['load average at start / end', `${machine.loadAtStart} / ${machine.loadAtEnd}`],
        [
          'other load',
          `other work shared the machine (${machine.runnableAtStart} other runnable processes and ${machine.otherRadosgw} radosgw daemons not ours at start; see the load average): absolute figures are noisy, ratios compare like with like, measured side by side`,
        ],
        ['bench wall time', `${Math.round(meta.totalSeconds)} s`],
      ],
    ),
  );
  out.push('');
  out.push('## Targets');
  out.push('');
  out.push(targetsTable(targets));
  out.push('');
  for (const s of sections) {
    out.push(`## ${s.title}`);
    out.push('');
    out.push(s.body.trim());
    out.push('');
  }
  out.push('## Closing note');
  out.push('');
  if (missed.length === 0) out.push('Every target was met in this run.');
  else {
    out.push('Targets missed in this run, what limits each, and what would move it:');
    out.push('');
    for (const t of missed) {
      out.push(`- **${t.item}** (${t.target}; measured ${t.measured}): ${t.limit ?? 'see above'}`);
    }
  }
  for (const n of meta.notes) {
    out.push('');
    out.push(n);
  }
  out.push('');
  return out.join('\n');
}
