import type { Json, RemediationContext, Vars } from './vars.ts';

/** How a fix block is shown: prose is wrapped, shell is wrapped with ` \`, json and code never. */
export type BlockKind = 'text' | 'shell' | 'json' | 'code';

export type BlockTemplate =
  | { kind: 'text' | 'shell' | 'code'; text: string }
  | { kind: 'json'; doc: Json };

type Templated<T> = T | ((v: Vars, ctx: RemediationContext) => T);

/** One row: templates only; `{name}` is filled from Vars by one fill(). */
export interface Row {
  title: Templated<string>;
  cause: Templated<string>;
  fix: Templated<readonly BlockTemplate[]>;
}

export const t = (text: string): BlockTemplate => ({ kind: 'text', text });
export const sh = (text: string): BlockTemplate => ({ kind: 'shell', text });
export const code = (text: string): BlockTemplate => ({ kind: 'code', text });
export const json = (doc: Json): BlockTemplate => ({ kind: 'json', doc });
