// The reliability tier's summary: each test file appends rows (JSON lines in
// a file shared by the run's workers) and prints the tables gathered so far,
// so the last file to finish prints the whole picture into the CI log.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Section =
  | 'faults'
  | 'resources'
  | 'data'
  | 'secrets'
  | 'inputs'
  | 'shutdown'
  | 'callers';

const HEADERS: Record<Section, { title: string; columns: string[] }> = {
  faults: {
    title: 'Faults on the real peers',
    columns: [
      'peer',
      'fault',
      'expected',
      'verdict',
      'detect s',
      'bound s',
      'recover s',
      '/healthz p99 ms',
      '/healthz answered',
      '/livez ok',
    ],
  },
  resources: {
    title: 'Resources over repeated cycles (sidecar process)',
    columns: [
      'run',
      'cycles',
      'fds',
      'sockets',
      'RSS MiB',
      'heap after full GC MiB',
      'peer sockets open',
    ],
  },
  data: {
    title: 'No data lost',
    columns: ['scenario', 'foreign objects', 'intact', 'own objects left'],
  },
  secrets: {
    title: 'Secret scans',
    columns: ['output', 'scanned', 'bytes', 'secrets', 'hits'],
  },
  inputs: {
    title: 'Bad input',
    columns: ['surface', 'inputs tried', 'answers', 'crashes / escapes'],
  },
  shutdown: {
    title: 'Shutdown and restart',
    columns: ['scenario', 'runs', 'exit codes', 'max stop ms', 'deadline ms', 'own objects left'],
  },
  callers: {
    title: 'What callers can make it write to S3',
    columns: [
      'scenario',
      'seconds',
      'calls',
      'live / cached / 401',
      'S3 PUTs beyond the schedule',
      'bound',
      'audit log lines',
    ],
  },
};

// One file per vitest run: the workers are forks of the same parent.
const RUN_FILE = join(tmpdir(), `s3-health-reliability-${process.ppid}.jsonl`);
export const SUMMARY_FILE = join(tmpdir(), 's3-health-reliability-summary.md');

export function addRow(section: Section, cells: (string | number)[]): void {
  appendFileSync(RUN_FILE, `${JSON.stringify({ section, cells: cells.map(String) })}\n`);
}

export function renderSummary(): string {
  if (!existsSync(RUN_FILE)) return '';
  const rows = readFileSync(RUN_FILE, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { section: Section; cells: string[] });
  const out: string[] = [];
  for (const section of Object.keys(HEADERS) as Section[]) {
    const mine = rows.filter((r) => r.section === section);
    if (mine.length === 0) continue;
    const { title, columns } = HEADERS[section];
    out.push(`### ${title}`, '', `| ${columns.join(' | ')} |`);
    out.push(`|${columns.map(() => '---').join('|')}|`);
    for (const r of mine) out.push(`| ${r.cells.join(' | ')} |`);
    out.push('');
  }
  return out.join('\n');
}

/** Writes the markdown next to the rows and prints it (call from afterAll). */
export function printSummary(): void {
  const md = renderSummary();
  if (md === '') return;
  writeFileSync(SUMMARY_FILE, md);
  console.log(`\n[reliability] summary so far (${SUMMARY_FILE}):\n\n${md}`);
}
