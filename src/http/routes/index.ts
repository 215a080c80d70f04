import type { FastifyPluginAsync } from 'fastify';
import { redactConfig } from '../../config/redact.ts';
import { healthDocument } from '../../report/health.ts';
import { hideIdentity, publicFacts } from '../../report/identity.ts';
import { accessFor, maySeeIdentity } from '../auth.ts';
import type { AppContext } from '../context.ts';

/** What runs here: version, redacted config, endpoints, the last results. */
export const indexRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.get('/', async (req, reply) => {
    const snap = ctx.store.snapshot();
    const full = maySeeIdentity(accessFor(req.headers, ctx.config.diagnoseToken));
    const config = redactConfig(ctx.config);
    const body = {
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
      ...(full
        ? {
            facts: snap.facts,
            lastResults: Object.fromEntries(snap.checks.map((c) => [c.name, c.state.last ?? null])),
            config,
          }
        : {
            // Verdicts and reasons only: the step results carry ids in their
            // errors and observations; the token shows them.
            identity: 'hidden: present S3_HEALTH_DIAGNOSE_TOKEN (Bearer or Basic) to see it',
            facts: publicFacts(snap.facts),
            config: {
              checks: config.checks,
              intervalSeconds: config.intervalSeconds,
              timeoutSeconds: config.timeoutSeconds,
              diagnoseTokenSet: true,
              diagnoseMinIntervalSeconds: config.diagnoseMinIntervalSeconds,
            },
          }),
    };
    const text = JSON.stringify(body);
    return reply
      .type('application/json')
      .send(full ? text : hideIdentity(text, snap.facts, ctx.config));
  });
};
