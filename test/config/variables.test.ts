import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Env, parseConfig } from '../../src/config/parse.ts';
import { VARIABLE_NAMES, VARIABLES, variableTable } from '../../src/config/variables.ts';
import type { Config } from '../../src/model/config.ts';
import { tableRows } from '../support/markdown.ts';

const BASE: Env = { S3_HEALTH_BUCKET: 'acme-kb-prod' };
const DOC = join(import.meta.dirname, '..', '..', 'docs', 'configuration.md');

function parsed(env: Env): Config {
  const r = parseConfig(env, 'f3a9c2e1b7d4');
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

describe('the one table of variables (src/config/variables.ts)', () => {
  it('docs/configuration.md shows the table as rendered from it', () => {
    expect(tableRows(readFileSync(DOC, 'utf8'))).toEqual(tableRows(variableTable()));
    expect(tableRows(variableTable())).toHaveLength(VARIABLE_NAMES.length + 1);
  });

  it('the parser falls back to each documented default: setting it changes nothing', () => {
    const unset = parsed(BASE);
    for (const name of VARIABLE_NAMES) {
      const v = VARIABLES[name];
      if (v.default === undefined) {
        if (name !== 'S3_HEALTH_BUCKET') expect(unset[v.field], name).toBeUndefined();
        continue;
      }
      const set = parsed({ ...BASE, [name]: String(v.default) });
      expect(set[v.field], name).toEqual(unset[v.field]);
    }
  });

  it('the parser knows every name in the table and no other S3_HEALTH_ name', () => {
    const all = Object.fromEntries(
      VARIABLE_NAMES.filter((n) => VARIABLES[n].default !== undefined).map((n) => [
        n,
        String(VARIABLES[n].default),
      ]),
    );
    expect(parseConfig({ ...BASE, ...all }).ok).toBe(true);
    const r = parseConfig({ ...BASE, S3_HEALTH_NOT_IN_THE_TABLE: '1' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]?.problem).toBe('unknown variable');
  });
});
