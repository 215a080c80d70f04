import type { FastifyPluginAsync } from 'fastify';
import { accessFor, maySeeIdentity } from '../auth.ts';
import type { AppContext } from '../context.ts';

/**
 * Open to every scraper; identity (role, account on s3_health_target_info)
 * only to one that carries S3_HEALTH_DIAGNOSE_TOKEN where it is set, as on
 * every other endpoint (SPEC §5).
 */
export const metricsRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.get('/metrics', async (req, reply) => {
    const identity = maySeeIdentity(accessFor(req.headers, ctx.config.diagnoseToken));
    const body = await ctx.metrics.exposition(ctx.store, identity);
    return reply.type(ctx.metrics.contentType).send(body);
  });
};
