/**
 * Line fitting for the text report. The rule (tested): a line is at most
 * `width` columns, unless the overflow is one unbreakable token (an id, an
 * ARN, a URL, a JSON string value of LONG_TOKEN characters or more) that
 * starts within the width. Such a token is never split: a split id or ARN
 * pasted into a shell is a different, wrong argument.
 */

/** Word-wraps prose; hard newlines are kept. */
export function wrapProse(text: string, width: number, indent = '', hanging = indent): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = indent;
    let lineHasWord = false;
    for (const word of para.split(/\s+/).filter((w) => w !== '')) {
      if (lineHasWord && line.length + 1 + word.length > width) {
        out.push(line);
        line = hanging + word;
      } else {
        line = lineHasWord ? `${line} ${word}` : line + word;
      }
      lineHasWord = true;
    }
    out.push(line);
  }
  return out;
}

/**
 * Splits a shell line at spaces outside quotes; `quote` carries over between
 * lines. With `keepSubst`, a `$( … )` stays one token.
 */
function shellTokens(line: string, state: { quote: string }, keepSubst = true): string[] {
  const tokens: string[] = [];
  let cur = '';
  // Depth of `$( … )`: a command substitution stays one argument.
  let depth = 0;
  for (const ch of line) {
    if (state.quote !== '') {
      if (ch === state.quote) state.quote = '';
      cur += ch;
    } else if (ch === "'" || ch === '"') {
      state.quote = ch;
      cur += ch;
    } else if (keepSubst && ch === '(' && cur.endsWith('$')) {
      depth++;
      cur += ch;
    } else if (ch === ')' && depth > 0) {
      depth--;
      cur += ch;
    } else if (ch === ' ' && depth === 0) {
      if (cur !== '') tokens.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur !== '') tokens.push(cur);
  return tokens;
}

/** Keeps `--flag value` and `> file` on one line: a flag apart from its value reads as a typo. */
function pairOptions(tokens: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i] ?? '';
    const next = tokens[i + 1];
    const takesValue = tok.startsWith('-') || tok === '>' || tok === '>>';
    if (takesValue && next !== undefined && !next.startsWith('-')) {
      out.push(`${tok} ${next}`);
      i++;
    } else {
      out.push(tok);
    }
  }
  return out;
}

/**
 * Wraps a shell command with ` \` continuations, breaking only between
 * arguments, so the wrapped text still pastes as the same command. A quoted
 * argument is never split, so table rows keep those short; a `$( … )` is
 * split between its own arguments only when it cannot fit on one line
 * (bash joins ` \` continuations inside it too).
 */
export function wrapShell(text: string, width: number, indent = ''): string[] {
  const out: string[] = [];
  const state = { quote: '' };
  for (const raw of text.split('\n')) {
    const lead = /^\s*/.exec(raw)?.[0] ?? '';
    const startQuoted = state.quote !== '';
    const body = raw.slice(lead.length);
    let tokens = pairOptions(shellTokens(body, state));
    const room = width - indent.length - lead.length - 4;
    if (!startQuoted && tokens.some((tok) => tok.length > room)) {
      // Same quotes either way, so `state` after the first pass stays right.
      tokens = pairOptions(shellTokens(body, { quote: '' }, false));
    }
    if (indent.length + raw.length <= width || startQuoted || tokens.length < 2) {
      out.push(indent + raw);
      continue;
    }
    const cont = `${indent}${lead}  `;
    let line = indent + lead + (tokens[0] ?? '');
    for (const tok of tokens.slice(1)) {
      // Keep room for the trailing " \" on every broken line.
      if (line.length + 1 + tok.length + 2 > width && line.trim() !== '') {
        out.push(`${line} \\`);
        line = cont + tok;
      } else {
        line = `${line} ${tok}`;
      }
    }
    out.push(line);
  }
  return out;
}

/** Verbatim lines (JSON documents, env files) under an indent. */
export function indentBlock(text: string, indent: string): string[] {
  return text.split('\n').map((l) => indent + l);
}

/** Tokens at least this long (ids, ARNs, URLs) may overflow the width rather than be split. */
const LONG_TOKEN = 30;

/** Whether a line obeys the report's width rule (see the top of this file). */
export function fitsWidth(line: string, width: number): boolean {
  if (line.length <= width) return true;
  const body = line.replace(/ \\$/, '').trimEnd();
  const lastSpace = body.lastIndexOf(' ');
  const token = body.slice(lastSpace + 1);
  // Only the last token may cross the edge: it starts inside the width and is long.
  return lastSpace < width && token.length >= LONG_TOKEN;
}
