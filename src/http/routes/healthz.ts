import type { FastifyPluginAsync } from 'fastify';
import { CHECK_NAMES, type CheckName } from '../../model/check.ts';
import { healthDocument, httpStatusFor, verboseText } from '../../report/health.ts';
import { hideIdentity } from '../../report/identity.ts';
import { accessFor, maySeeIdentity } from '../auth.ts';
import type { AppContext } from '../context.ts';

interface Query {
  verbose?: string;
}

function wantsVerbose(q: Query | undefined): boolean {
  return q !== undefined && Object.hasOwn(q, 'verbose');
}

/** Cached verdicts only: these handlers never wait on AWS. */
export const healthzRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  const meta = { version: ctx.version, serviceId: ctx.config.hostname };

  // Verdicts change only with a cycle or with time (staleness), so a body is
  // rendered at most once per cycle and second, however often it is asked for.
  const cache = new Map<string, { status: 200 | 503; body: string }>();
  let cacheKey = '';
  const render = (only: CheckName | undefined, verbose: boolean, full: boolean) => {
    const now = Date.now();
    const key = `${ctx.store.cycles}:${Math.floor(now / 1000)}`;
    if (key !== cacheKey) {
      cache.clear();
      cacheKey = key;
    }
    const entry = `${only ?? ''}:${verbose}:${full}`;
    let hit = cache.get(entry);
    if (hit === undefined) {
      const snap = ctx.store.snapshot(now);
      const doc = healthDocument(snap, meta, only);
      const body = verbose ? verboseText(snap, only) : JSON.stringify(doc);
      hit = {
        status: httpStatusFor(doc.status),
        // Error texts name the account, role or instance; without the token they are replaced.
        body: full ? body : hideIdentity(body, snap.facts, ctx.config),
      };
      cache.set(entry, hit);
    }
    return hit;
  };

  const answer = (only: CheckName | undefined) => {
    return async (
      req: { query: unknown; headers: import('node:http').IncomingHttpHeaders },
      reply: import('fastify').FastifyReply,
    ) => {
      const verbose = wantsVerbose(req.query as Query);
      const full = maySeeIdentity(accessFor(req.headers, ctx.config.diagnoseToken));
      const { status, body } = render(only, verbose, full);
      reply.code(status).header('cache-control', 'no-store');
      return reply
        .type(verbose ? 'text/plain; charset=utf-8' : 'application/health+json')
        .send(body);
    };
  };

  for (const path of ['/healthz', '/readyz']) {
    app.get(path, answer(undefined));
    app.get<{ Params: { check: string } }>(`${path}/:check`, async (req, reply) => {
      const name = CHECK_NAMES.find((c) => c === req.params.check);
      if (name === undefined || !ctx.config.checks.includes(name)) {
        return reply
          .code(404)
          .type('text/plain')
          .send(`no such check; enabled: ${ctx.config.checks.join(', ')}\n`);
      }
      return answer(name)(req, reply);
    });
  }
};
