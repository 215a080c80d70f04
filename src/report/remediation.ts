import { isReason, type Reason } from '../model/reasons.ts';
import type { BlockKind, BlockTemplate } from './remediation-blocks.ts';
import { ROWS } from './remediation-table.ts';
import { fill, fillJson, learnVars, type RemediationContext, type Vars } from './vars.ts';

export interface FixBlock {
  kind: BlockKind;
  text: string;
}

export interface Remediation {
  reason: Reason;
  /** Short, for the verdict line: `s3:PutObject denied to role app`. */
  title: string;
  /** One sentence. */
  cause: string;
  /** Paragraphs; every command or JSON document is an entry of its own, ready to paste. */
  fix: string[];
  /** The same entries as `fix`, with how to show each (renderers need it to wrap prose only). */
  blocks: FixBlock[];
}

function renderBlock(b: BlockTemplate, vars: Vars): FixBlock {
  if (b.kind === 'json')
    return { kind: 'json', text: JSON.stringify(fillJson(b.doc, vars), null, 2) };
  return { kind: b.kind, text: fill(b.text, vars) };
}

/**
 * The cause and fix for a classified reason, filled with what this run
 * learned; values it did not learn stay the runbook's placeholders.
 */
export function remediate(reason: Reason, ctx: RemediationContext): Remediation | undefined {
  if (!isReason(reason)) return undefined;
  const row = ROWS[reason];
  const vars = learnVars(ctx);
  const title = typeof row.title === 'function' ? row.title(vars, ctx) : row.title;
  const cause = typeof row.cause === 'function' ? row.cause(vars, ctx) : row.cause;
  const fix = typeof row.fix === 'function' ? row.fix(vars, ctx) : row.fix;
  const blocks = fix.map((b) => renderBlock(b, vars));
  return {
    reason,
    title: fill(title, vars),
    cause: fill(cause, vars),
    fix: blocks.map((b) => b.text),
    blocks,
  };
}
