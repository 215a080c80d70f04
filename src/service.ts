import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createDeps } from './checks/create-deps.ts';
import { enabledChecks } from './checks/index.ts';
import { diagnoseSpacingMs } from './config/bounds.ts';
import { DiagnoseGate } from './engine/diagnose-gate.ts';
import { createDiagnoser } from './engine/diagnose-run.ts';
import { Scheduler } from './engine/scheduler.ts';
import { HealthStore } from './engine/store.ts';
import { callerLog } from './http/audit.ts';
import { buildServer } from './http/server.ts';
import { Metrics } from './metrics.ts';
import type { Config } from './model/config.ts';

export interface Service {
  app: FastifyInstance;
  store: HealthStore;
  scheduler: Scheduler;
  /** Stop probing (in-flight probe object deleted), then close the server. */
  stop: () => Promise<void>;
}

/** The composition root: config → deps → scheduler → store → server. Nothing listens yet. */
export function createService(config: Config, logger: Logger, version: string): Service {
  const sdkLog = {
    warn: (msg: string) => logger.warn({ source: 'aws-sdk' }, msg),
    debug: (msg: string) => logger.debug({ source: 'aws-sdk' }, msg),
  };
  const deps = createDeps(config, sdkLog);
  const store = new HealthStore(config);
  const metrics = new Metrics(config, version);
  const scheduler = new Scheduler(enabledChecks(config.checks), deps, config, store, {
    onCycle: (outcome, changes) => {
      metrics.observe(outcome.results.values(), store);
      for (const c of changes) {
        const level = c.to === 'fail' ? 'error' : c.to === 'warn' ? 'warn' : 'info';
        logger[level](
          {
            check: c.check,
            from: c.from,
            to: c.to,
            reason: c.result.reason,
            output: c.result.output,
            step: c.result.steps.find((s) => s.status === 'fail' || s.status === 'warn')?.name,
          },
          `check ${c.check}: ${c.from} -> ${c.to}`,
        );
      }
    },
    onLeftover: (key, err) =>
      logger.warn(
        { key, err: err instanceof Error ? err.message : String(err) },
        'probe object not deleted yet',
      ),
    onError: (err) => logger.error({ err }, 'probe cycle crashed'),
  });
  const diagnoseDeps = createDeps(config, sdkLog, true);
  const gate = new DiagnoseGate(
    createDiagnoser(
      config,
      diagnoseDeps,
      version,
      () => store.facts,
      () => store.history(),
    ),
    diagnoseSpacingMs(config),
  );
  const log = callerLog(logger);
  const app = buildServer({
    config,
    store,
    metrics,
    version,
    startedAt: Date.now(),
    diagnose: () => gate.ask(),
    log,
  });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // The cycle and a /diagnose run in flight are aborted alike; each
      // deletes its probe object before its promise settles.
      await Promise.all([scheduler.stop(), gate.stop()]);
      await app.close();
      log.close();
      deps.clients.destroy();
      diagnoseDeps.clients.destroy();
    })();
    return stopping;
  };
  return { app, store, scheduler, stop };
}
