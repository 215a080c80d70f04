import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { renderDiagnoseJson, renderDiagnoseText } from '../../report/diagnose.ts';
import { httpStatusFor } from '../../report/health.ts';
import type { AppContext } from '../context.ts';

function authorised(req: FastifyRequest, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers.authorization ?? '';
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
  const want = Buffer.from(token);
  // Compare equal-length buffers only, and always pay for one comparison.
  return (
    timingSafeEqual(given.length === want.length ? given : Buffer.alloc(want.length), want) &&
    given.length === want.length
  );
}

function wantsJson(req: FastifyRequest<{ Querystring: { format?: string } }>): boolean {
  if (req.query.format === 'json') return true;
  if (req.query.format === 'text') return false;
  return (req.headers.accept ?? '').includes('application/json');
}

/** The only endpoint that touches AWS on request; bounded by the checks' deadlines. */
export const diagnoseRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.get<{ Querystring: { format?: string } }>('/diagnose', async (req, reply) => {
    if (!authorised(req, ctx.config.diagnoseToken)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="s3-health"')
        .type('text/plain')
        .send('401: /diagnose needs Authorization: Bearer <S3_HEALTH_DIAGNOSE_TOKEN>\n');
    }
    const report = await ctx.diagnose();
    reply.code(httpStatusFor(report.status)).header('cache-control', 'no-store');
    if (wantsJson(req)) return reply.type('application/json').send(renderDiagnoseJson(report));
    return reply.type('text/plain; charset=utf-8').send(renderDiagnoseText(report));
  });
};
