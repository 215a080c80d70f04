// What the tier reads in a shell block: which `aws …` commands it holds, whether
// bash parses it, and whether the tier may run it (only blocks made of `aws`
// calls and shell variables run: docker, kubectl, sudo… stay parse-checked).
import { spawnSync } from 'node:child_process';

/** Continuation lines joined, comments dropped: what bash executes. */
export function logicalLines(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => stripComment(l).trim())
    .filter((l) => l !== '');
}

// A `#` starts a comment only outside quotes and at a word start.
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) return line.slice(0, i);
  }
  return line;
}

// `aws` in command position: line start, after `$(`, `;`, `&&`, `||`, `|`.
const AWS_AT_COMMAND = /(?:^|\$\(|[;&|]\s*|=\$\()\s*aws\s/g;

/** The `aws …` commands of a block, each as printed (up to the end of its simple command). */
export function awsCommands(block: string): string[] {
  const out: string[] = [];
  for (const line of logicalLines(block)) {
    for (const m of line.matchAll(AWS_AT_COMMAND)) {
      const start = line.indexOf('aws', m.index);
      const rest = line.slice(start);
      const end = rest.search(/\)\s*$|\)\s*[;&|]|;|&&|\|\|?/);
      out.push((end === -1 ? rest : rest.slice(0, end)).trim());
    }
  }
  return out;
}

/** `bash -n`: the block parses as printed. */
export function bashSyntax(block: string): string | undefined {
  const r = spawnSync('bash', ['-n'], { input: block, encoding: 'utf8' });
  if (r.error) throw new Error(`bash not runnable: ${r.error.message}`);
  return r.status === 0 ? undefined : r.stderr.trim();
}

// A command word the tier runs: aws, plus shell built-ins that only print or assign.
const RUNNABLE_WORD = /^(?:aws|echo|printf|[A-Za-z_][A-Za-z0-9_]*=.*)$/;

/** Runs only when every simple command starts with aws, echo/printf or an assignment. */
export function runnable(block: string): boolean {
  if (awsCommands(block).length === 0) return false;
  return logicalLines(block).every((line) =>
    line
      .split(/;|&&|\|\|/)
      .map((c) => c.trim())
      .filter((c) => c !== '')
      .every((c) => RUNNABLE_WORD.test(c.split(/\s+/)[0] ?? '')),
  );
}

/** `<UPPER_CASE>` runbook placeholders: to bash, redirections. */
export function placeholders(text: string): string[] {
  return [...new Set(text.match(/<[A-Z][A-Z0-9_]*>/g) ?? [])];
}

/** Shell variables a block reads ($NAME / ${NAME}) and the ones it assigns. */
export function variables(block: string): { read: string[]; assigned: string[] } {
  const lines = logicalLines(block);
  const read = new Set<string>();
  const assigned = new Set<string>();
  for (const line of lines) {
    // Single-quoted text (JMESPath, jsonpath) is not expanded by bash.
    const expanded = line.replace(/'[^']*'/g, "''");
    for (const m of expanded.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) read.add(m[1] ?? '');
    for (const m of expanded.matchAll(/(?:^|[;&|]\s*)([A-Za-z_][A-Za-z0-9_]*)=/g))
      assigned.add(m[1] ?? '');
  }
  return { read: [...read], assigned: [...assigned] };
}
