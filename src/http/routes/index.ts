import type { FastifyPluginAsync } from 'fastify';
import { redactConfig } from '../../config/redact.ts';
import { healthDocument } from '../../report/health.ts';
import type { AppContext } from '../context.ts';

/** What runs here: version, redacted config, endpoints, the last results. */
export const indexRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.get('/', async (_req, reply) => {
    const snap = ctx.store.snapshot();
    return reply.type('application/json').send({
      name: 's3-health',
      version: ctx.version,
      node: process.version,
      serviceId: ctx.config.hostname,
      uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
      cycles: snap.cycles,
      endpoints: {
        '/livez': 'liveness, never depends on AWS',
        '/healthz': 'cached verdict, application/health+json (?verbose for text)',
        '/healthz/:check': `one check: ${ctx.config.checks.join(', ')}`,
        '/readyz': 'same as /healthz',
        '/metrics': 'Prometheus text format',
        '/diagnose': 'runs every check now; cause and fix (?format=json)',
      },
      health: healthDocument(snap, { version: ctx.version, serviceId: ctx.config.hostname }),
      facts: snap.facts,
      lastResults: Object.fromEntries(snap.checks.map((c) => [c.name, c.state.last ?? null])),
      config: redactConfig(ctx.config),
    });
  });
};
