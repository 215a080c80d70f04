import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../context.ts';

export const metricsRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  app.get('/metrics', async (_req, reply) => {
    const body = await ctx.metrics.exposition(ctx.store);
    return reply.type(ctx.metrics.contentType).send(body);
  });
};
