import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { renderDiagnoseJson, renderDiagnoseText } from '../../report/diagnose.ts';
import { httpStatusFor } from '../../report/health.ts';
import { accessFor, challenges, mayDiagnose } from '../auth.ts';
import type { AppContext } from '../context.ts';

function wantsJson(req: FastifyRequest<{ Querystring: { format?: string } }>): boolean {
  if (req.query.format === 'json') return true;
  if (req.query.format === 'text') return false;
  return (req.headers.accept ?? '').includes('application/json');
}

/** The only endpoint that touches AWS on request; bounded by the checks' deadlines. */
export const diagnoseRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.get<{ Querystring: { format?: string } }>('/diagnose', async (req, reply) => {
    if (!mayDiagnose(accessFor(req.headers, ctx.config.diagnoseToken))) {
      return reply
        .code(401)
        .header('www-authenticate', challenges(req.headers))
        .type('text/plain')
        .send(
          '401: /diagnose needs Authorization: Bearer <S3_HEALTH_DIAGNOSE_TOKEN> (or HTTP Basic with the token as password)\n',
        );
    }
    const report = await ctx.diagnose();
    reply.code(httpStatusFor(report.status)).header('cache-control', 'no-store');
    if (wantsJson(req)) return reply.type('application/json').send(renderDiagnoseJson(report));
    return reply.type('text/plain; charset=utf-8').send(renderDiagnoseText(report));
  });
};
