import { createDeps } from '../../src/checks/create-deps.ts';
import type { ProbeDeps } from '../../src/checks/deps.ts';
import { enabledChecks } from '../../src/checks/index.ts';
import { parseConfig } from '../../src/config/parse.ts';
import { runCycle } from '../../src/engine/cycle.ts';
import type { CheckName, CheckResult } from '../../src/model/check.ts';
import type { Config } from '../../src/model/config.ts';
import type { Service } from '../../src/service.ts';

/**
 * Points this test process at a ground: the SDK reads process.env itself, so
 * the variables are set for real, exactly as a container would have them.
 */
export function useEnv(env: Record<string, string>): Config {
  for (const [k, v] of Object.entries(env)) process.env[k] = v;
  const parsed = parseConfig(process.env, 'test-host');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

/** Listens on a free loopback port (tests never fight over a fixed one); gives the base URL. */
export async function listenLocal(svc: Service): Promise<string> {
  await svc.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = svc.app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return `http://127.0.0.1:${addr.port}`;
}

export function clearEnv(names: string[]): void {
  for (const n of names) delete process.env[n];
}

export const quiet = { warn: () => {}, debug: () => {} };

export async function cycle(
  config: Config,
  deps: ProbeDeps = createDeps(config, quiet),
): Promise<Map<CheckName, CheckResult>> {
  const out = await runCycle(enabledChecks(config.checks), deps, config);
  return out.results;
}

/** `{ imds: 'pass', credentials: 'fail:blocked' }` — one line to assert a whole chain. */
export function summary(results: Map<CheckName, CheckResult>): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [name, r] of results)
    o[name] = r.status === 'pass' ? 'pass' : `${r.status}:${r.reason}`;
  return o;
}

export function failedStep(r: CheckResult | undefined): string | undefined {
  return r?.steps.find((s) => s.status === 'fail')?.name;
}
