import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../context.ts';

export const metricsRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.get('/metrics', async (_req, reply) => {
    ctx.metrics.refresh(ctx.store);
    const body = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(body);
  });
};
