// Pastes one rendered fix into bash, as on-call would: blocks in order, in an
// empty directory, policy documents saved under the names the fix gives them.
// Only blocks made of `aws` calls run (see shell.ts); the others are parse-checked.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WIDTH } from '../../src/report/diagnose.ts';
import type { FixBlock } from '../../src/report/remediation.ts';
import { wrapShell } from '../../src/report/wrap.ts';
import { awsCommands, runnable, variables } from './shell.ts';

/** A shell block as /diagnose text lays it out: wrapped with ` \\` and indented. */
export function shown(text: string): string[] {
  return wrapShell(text, WIDTH, '      ');
}

export type Outcome = 'ran' | 'dry' | 'failed' | 'unreached';

export interface CommandResult {
  /** As printed in the fix. */
  command: string;
  outcome: Outcome;
  /** stderr of a failed call, or why it did not run. */
  error?: string;
  /** For `dry`: what moto answered when sent the call for real. */
  moto?: string;
}

export interface PasteResult {
  commands: CommandResult[];
  /** Blocks holding commands other than aws (docker, kubectl, sudo…): parse-checked only. */
  skipped: number;
  problems: string[];
}

/** Things the fix asks a person to do between commands, done the way they are asked. */
const KEY_POLICY_EDIT = /Add the statement above to its "Statement" list/;

// Done by hand in the fix's words: add the statement to the downloaded key policy.
const ADD_STATEMENT = `node -e '
const fs = require("node:fs");
const [file, stmt] = process.argv.slice(1);
let doc;
try { doc = JSON.parse(fs.readFileSync(file, "utf8")); } catch (e) {
  console.error(file + " is not JSON: " + e.message); process.exit(1);
}
if (!Array.isArray(doc.Statement)) { console.error(file + " has no Statement list"); process.exit(1); }
doc.Statement.push(JSON.parse(fs.readFileSync(stmt, "utf8")));
fs.writeFileSync(file, JSON.stringify(doc, null, 2));
'`;

function heredoc(file: string, text: string): string {
  return `cat > ${file} <<'S3H_EOF'\n${text}\nS3H_EOF\n`;
}

/**
 * The script on-call's terminal would run. `choices` are values the fix asks
 * the operator for (a shell variable it reads but never sets): the tier fills
 * them the way a person would.
 */
export function script(
  blocks: readonly FixBlock[],
  choices: Record<string, string>,
): { text: string; skipped: number; problems: string[] } {
  const parts: string[] = [];
  const problems: string[] = [];
  let saveAs: string | undefined;
  let lastDoc: string | undefined;
  let skipped = 0;
  const assigned = new Set<string>();
  // Set by a block the tier cannot run (kubectl…), or asked of the operator in prose.
  const elsewhere = new Set<string>();
  blocks.forEach((b, i) => {
    if (b.kind === 'text') {
      for (const m of b.text.matchAll(/\b([A-Z][A-Z0-9_]*)=/g)) elsewhere.add(m[1] ?? '');
      saveAs = /save (?:it )?as ([\w.-]+\.json)/.exec(b.text)?.[1] ?? saveAs;
      if (KEY_POLICY_EDIT.test(b.text)) {
        if (lastDoc === undefined) problems.push('asks to add "the statement above" but none came');
        else parts.push(`${ADD_STATEMENT} key-policy.json ${lastDoc}\n`);
      }
      return;
    }
    if (b.kind === 'json') {
      lastDoc = `doc-${i}.json`;
      parts.push(heredoc(lastDoc, b.text));
      if (saveAs) parts.push(heredoc(saveAs, b.text));
      saveAs = undefined;
      return;
    }
    if (b.kind !== 'shell') return;
    if (!runnable(b.text)) {
      if (awsCommands(b.text).length > 0)
        problems.push(`a block mixes aws with other commands, so it cannot be run here: ${b.text}`);
      for (const v of variables(b.text).assigned) elsewhere.add(v);
      skipped++;
      return;
    }
    const vars = variables(b.text);
    for (const v of vars.read) {
      if (assigned.has(v) || vars.assigned.includes(v)) continue;
      const choice = choices[v];
      if (choice === undefined || !elsewhere.has(v))
        problems.push(`reads $${v}, which nothing in the fix sets or asks for`);
      else {
        parts.push(`${v}=${choice}  # the operator's choice\n`);
        assigned.add(v);
      }
    }
    for (const v of vars.assigned) assigned.add(v);
    // As the text report shows it (wrapped to 80 columns, indented): what gets copied.
    parts.push(`${shown(b.text).join('\n')}\n`);
  });
  return { text: parts.join(''), skipped, problems };
}

function serviceOp(command: string): string {
  const [, svc, op] = command.split(/\s+/);
  return `${svc}:${op}`;
}

interface Call {
  argv: string[];
  mode: 'run' | 'dry';
  rc: number;
  err: string;
  moto?: string;
}

function readCalls(dir: string): Call[] {
  const ids = readdirSync(dir)
    .filter((f) => f.endsWith('.argv'))
    .map((f) => f.slice(0, -5))
    .sort((a, b) => {
      const [ta = '', pa = ''] = a.split('-');
      const [tb = '', pb = ''] = b.split('-');
      return ta === tb ? Number(pa) - Number(pb) : ta.length - tb.length || (ta < tb ? -1 : 1);
    });
  return ids.map((id) => {
    const read = (ext: string) => {
      try {
        return readFileSync(join(dir, `${id}.${ext}`), 'utf8');
      } catch {
        return '';
      }
    };
    const [mode = 'run', rc = '1', moto] = read('res').trim().split(' ');
    return {
      argv: read('argv').split('\0').slice(0, -1),
      mode: mode === 'dry' ? 'dry' : 'run',
      rc: Number(rc),
      err: read('err').trim(),
      ...(mode === 'dry' ? { moto: `exit ${moto}: ${firstLine(read('moto'))}` } : {}),
    };
  });
}

function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? ''
  ).slice(0, 160);
}

/** Runs the script in a fresh directory; each printed aws command is matched to the call it made. */
export async function paste(
  blocks: readonly FixBlock[],
  env: (logDir: string) => NodeJS.ProcessEnv,
  choices: Record<string, string>,
): Promise<PasteResult> {
  const s = script(blocks, choices);
  const printed = blocks
    .filter((b) => b.kind === 'shell' && runnable(b.text))
    .flatMap((b) => awsCommands(b.text));
  if (printed.length === 0) return { commands: [], skipped: s.skipped, problems: s.problems };
  const dir = mkdtempSync(join(tmpdir(), 's3h-fix-'));
  const logDir = join(dir, '.calls');
  mkdirSync(logDir);
  try {
    writeFileSync(join(dir, 'fix.sh'), s.text);
    const bashErr = await new Promise<string>((resolve, reject) => {
      const p = spawn('bash', ['fix.sh'], {
        cwd: dir,
        env: env(logDir),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      p.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      p.on('error', reject);
      p.on('close', () => resolve(err));
    });
    const calls = readCalls(logDir);
    const used = new Set<number>();
    const commands = printed.map((command): CommandResult => {
      const i = calls.findIndex(
        (c, j) => !used.has(j) && `${c.argv[0]}:${c.argv[1]}` === serviceOp(command),
      );
      const call = calls[i];
      if (call === undefined) {
        return { command, outcome: 'unreached', error: firstLine(bashErr) || 'aws never ran' };
      }
      used.add(i);
      if (call.rc !== 0) return { command, outcome: 'failed', error: call.err.slice(-600) };
      return call.mode === 'dry'
        ? { command, outcome: 'dry', ...(call.moto ? { moto: call.moto } : {}) }
        : { command, outcome: 'ran' };
    });
    return { commands, skipped: s.skipped, problems: s.problems };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
