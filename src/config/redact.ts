import type { Config } from './schema.ts';

/** Config as shown to people: the diagnose token hidden; AWS keys were never kept (masked at parse). */
export function redactedConfig(
  c: Config,
): Omit<Config, 'diagnoseToken'> & { diagnoseToken: string | null } {
  return { ...c, diagnoseToken: c.diagnoseToken === undefined ? null : '(set)' };
}
