import type { FastifyPluginAsync } from 'fastify';
import { CHECK_NAMES, type CheckName } from '../../checks/check.ts';
import { healthDocument, httpStatusFor, verboseText } from '../../report/health.ts';
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

  const answer = (only: CheckName | undefined) => {
    return async (req: { query: unknown }, reply: import('fastify').FastifyReply) => {
      const snap = ctx.store.snapshot();
      const doc = healthDocument(snap, meta, only);
      reply.code(httpStatusFor(doc.status)).header('cache-control', 'no-store');
      if (wantsVerbose(req.query as Query)) {
        return reply.type('text/plain; charset=utf-8').send(verboseText(snap, only));
      }
      return reply.type('application/health+json').send(JSON.stringify(doc));
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
