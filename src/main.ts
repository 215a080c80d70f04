import pino from 'pino';
import { shutdownDeadlineMs } from './config/bounds.ts';
import { EXIT_CONFIG, formatProblems, parseConfig } from './config/parse.ts';
import { createService } from './service.ts';
import { readVersion } from './version.ts';

/** `s3-health serve`: config → service → listen; SIGTERM/SIGINT → graceful stop, exit 0. */
export async function serve(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const parsed = parseConfig(env);
  if (!parsed.ok) {
    process.stderr.write(`${formatProblems(parsed.problems)}\n`);
    process.exit(EXIT_CONFIG);
  }
  const config = parsed.config;
  const logger = pino({ level: config.logLevel, base: { service: 's3-health' } });
  const version = readVersion();
  const service = createService(config, logger, version);
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down: stopping probes, deleting probe objects in flight');
    // A second signal, or a stop that hangs past the deadline, still ends the process.
    const force = setTimeout(() => {
      logger.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, shutdownDeadlineMs(config));
    force.unref();
    service.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  try {
    await service.app.listen({ port: config.port, host: config.host });
  } catch (err) {
    // One clear line (EADDRINUSE, EACCES, EADDRNOTAVAIL), not a stack trace.
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    logger.fatal({ code }, `cannot listen on ${config.host}:${config.port}: ${code}`);
    process.stderr.write(`s3-health: cannot listen on ${config.host}:${config.port}: ${code}\n`);
    await service.stop();
    process.exit(1);
  }
  logger.info(
    {
      version,
      port: config.port,
      checks: config.checks,
      bucket: config.bucket ?? null,
      prefix: config.prefix,
      hostname: config.hostname,
      intervalSeconds: config.intervalSeconds,
    },
    's3-health listening',
  );
  service.scheduler.start();
}
