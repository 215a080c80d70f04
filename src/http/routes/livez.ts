import type { FastifyPluginAsync } from 'fastify';

/** Liveness never looks at AWS: an S3 outage must not get a healthy sidecar restarted. */
export const livezRoutes: FastifyPluginAsync = async (app) => {
  app.get('/livez', async (_req, reply) => reply.type('text/plain').send('ok\n'));
};
