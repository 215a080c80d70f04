import type { FastifyPluginAsync } from 'fastify';
import { redactConfig } from '../../config/redact.ts';
import { healthDocument } from '../../report/health.ts';
import { hideIdentity, publicFacts } from '../../report/identity.ts';
import { refreshChoice, renderStatusPage } from '../../report/status-page.ts';
import { platformName } from '../../version.ts';
import { accessFor, challenges, maySeeIdentity, wantsHtml } from '../auth.ts';
import type { AppContext } from '../context.ts';

/** `?refresh` (the probe interval) or `?refresh=N`, N from 5 to 3600 s; anything else: none. */
function refreshOf(
  query: Record<string, string> | undefined,
  config: AppContext['config'],
): { refreshSeconds?: number } {
  if (query === undefined || !Object.hasOwn(query, 'refresh')) return {};
  const v = query.refresh ?? '';
  if (v === '') return { refreshSeconds: refreshChoice(config) };
  const n = /^\d{1,4}$/.test(v) ? Number(v) : Number.NaN;
  return n >= 5 && n <= 3600 ? { refreshSeconds: n } : {};
}

/** What runs here: version, redacted config, endpoints, the last results. */
export const indexRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.get<{ Querystring: Record<string, string> }>('/', async (req, reply) => {
    if (wantsHtml(req.headers)) {
      const access = accessFor(req.headers, ctx.config.diagnoseToken);
      if (Object.hasOwn(req.query ?? {}, 'login')) {
        // The page's login link: the browser shows its dialog on this 401,
        // then sends the credentials with every later request to this origin.
        if (access === 'denied') {
          ctx.log.audit({
            path: '/',
            remote: req.ip,
            status: 401,
            delivery: 'unauthorised',
            durationMs: 0,
          });
          return reply
            .code(401)
            .header('www-authenticate', challenges(req.headers))
            .type('text/plain')
            .send('401: log in with any user name and the diagnose token as password\n');
        }
        return reply.code(303).header('location', '/').send();
      }
      const page = renderStatusPage({
        snapshot: ctx.store.snapshot(),
        history: ctx.store.history(),
        config: ctx.config,
        version: ctx.version,
        now: Date.now(),
        maySeeIdentity: maySeeIdentity(access),
        ...refreshOf(req.query, ctx.config),
      });
      return reply
        .header('content-security-policy', page.csp)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-store')
        .header('vary', 'accept, authorization')
        .type('text/html; charset=utf-8')
        .send(page.html);
    }
    const snap = ctx.store.snapshot();
    const full = maySeeIdentity(accessFor(req.headers, ctx.config.diagnoseToken));
    const config = redactConfig(ctx.config);
    const body = {
      name: 's3-health',
      version: ctx.version,
      node: process.version,
      platform: platformName(),
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
