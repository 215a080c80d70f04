import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DiagnoseSpaced, DiagnoseStopped } from '../../engine/diagnose-gate.ts';
import { cutUtf8 } from '../../engine/history.ts';
import { renderDiagnoseJson, renderDiagnoseText } from '../../report/diagnose.ts';
import { httpStatusFor } from '../../report/health.ts';
import { type Delivery, errorStatus } from '../audit.ts';
import { accessFor, challenges, mayDiagnose } from '../auth.ts';
import type { AppContext } from '../context.ts';

type Req = FastifyRequest<{ Querystring: { format?: string } }>;

function wantsJson(req: Req): boolean {
  if (req.query.format === 'json') return true;
  if (req.query.format === 'text') return false;
  return (req.headers.accept ?? '').includes('application/json');
}

async function answer(ctx: AppContext, req: Req, reply: FastifyReply): Promise<Delivery> {
  if (!mayDiagnose(accessFor(req.headers, ctx.config.diagnoseToken))) {
    reply
      .code(401)
      .header('www-authenticate', challenges(req.headers))
      .type('text/plain')
      .send(
        '401: /diagnose needs Authorization: Bearer <S3_HEALTH_DIAGNOSE_TOKEN> (or HTTP Basic with the token as password)\n',
      );
    return 'unauthorised';
  }
  reply.header('cache-control', 'no-store');
  let got: Awaited<ReturnType<AppContext['diagnose']>>;
  try {
    got = await ctx.diagnose();
  } catch (err) {
    if (err instanceof DiagnoseSpaced) {
      const wait = Math.ceil(err.retryAfterMs / 1000);
      reply.code(429).header('retry-after', String(wait)).type('text/plain');
      const failed = err.failed;
      const what =
        failed === undefined
          ? 'the last live run gave no report'
          : `the last live run failed ${Math.round((Date.now() - failed.at) / 1000)} s ago (${cutUtf8(failed.error, 512)}) and gave no report`;
      reply.send(`429: ${what}; the next may start in ${wait} s\n`);
      return 'spaced';
    }
    if (err instanceof DiagnoseStopped) {
      reply.code(503).type('text/plain').send('503: shutting down\n');
      return 'stopping';
    }
    throw err;
  }
  // A cached report gets the memory as it is now: the cycles since its run count too.
  const report = got.live ? got.report : { ...got.report, recent: ctx.store.history() };
  const delivery = got.live ? {} : { cachedAgeSeconds: Math.floor(got.ageMs / 1000) };
  if (delivery.cachedAgeSeconds !== undefined) {
    reply.header('age', String(delivery.cachedAgeSeconds));
  }
  reply.code(httpStatusFor(report.status));
  if (wantsJson(req)) {
    reply.type('application/json').send(renderDiagnoseJson(report, delivery));
  } else {
    reply.type('text/plain; charset=utf-8').send(renderDiagnoseText(report, delivery));
  }
  return got.live ? 'live' : 'cached';
}

/**
 * The only endpoint that touches AWS on request: bounded by the checks'
 * deadlines, spaced by the DiagnoseGate, and every call audited in one line.
 */
export const diagnoseRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.get<{ Querystring: { format?: string } }>('/diagnose', async (req, reply) => {
    const t0 = performance.now();
    const audit = (delivery: Delivery, status: number) =>
      ctx.log.audit({
        path: '/diagnose',
        remote: req.ip,
        status,
        delivery,
        durationMs: performance.now() - t0,
      });
    try {
      audit(await answer(ctx, req, reply), reply.statusCode);
      return reply;
    } catch (err) {
      // Answered by the server's error handler: logged with the status it sends.
      audit('error', errorStatus(err as { statusCode?: number }));
      throw err;
    }
  });
};
