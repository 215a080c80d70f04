import Fastify, { type FastifyInstance } from 'fastify';
import { errorStatus } from './audit.ts';
import type { AppContext } from './context.ts';
import { diagnoseRoutes } from './routes/diagnose.ts';
import { healthzRoutes } from './routes/healthz.ts';
import { indexRoutes } from './routes/index.ts';
import { livezRoutes } from './routes/livez.ts';
import { metricsRoutes } from './routes/metrics.ts';

/**
 * A GET-only surface: tiny body limit, short timeouts against slow clients,
 * and no per-request logging.
 */
export function buildServer(ctx: AppContext): FastifyInstance {
  const app = Fastify({
    // No Fastify logger: its child logger per request was a visible share of
    // /healthz's cost in bench/, and request lines would drown the state
    // changes; errors are logged by the handler below.
    logger: false,
    bodyLimit: 1024,
    connectionTimeout: 30_000,
    requestTimeout: 15_000,
    http: { headersTimeout: 10_000, connectionsCheckingInterval: 2_000 },
    keepAliveTimeout: 5_000,
    routerOptions: { maxParamLength: 64 },
    // Refused below instead, so each refusal gets its line (within the budget).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });
  app.server.on('connect', (_req, socket: import('node:stream').Duplex) => {
    socket.end(
      'HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
  });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Requests on kept-alive connections still arrive while the server drains.
  app.addHook('onRequest', async (req, reply) => {
    if (!closing) return;
    ctx.log.audit({
      // The route's pattern, never the raw URL: bounded, and nothing a caller wrote.
      path: req.routeOptions.url ?? '(no route)',
      remote: req.ip,
      status: 503,
      delivery: 'stopping',
      durationMs: 0,
    });
    return reply
      .code(503)
      .header('connection', 'close')
      .type('text/plain')
      .send('503: shutting down\n');
  });
  app.register(livezRoutes);
  app.register(healthzRoutes, ctx);
  app.register(metricsRoutes, ctx);
  app.register(diagnoseRoutes, ctx);
  app.register(indexRoutes, ctx);
  app.setNotFoundHandler((_req, reply) => {
    reply.code(404).type('text/plain').send('not found; see GET /\n');
  });
  app.setErrorHandler((err: { statusCode?: number; message?: string }, req, reply) => {
    const code = errorStatus(err);
    if (code === 500) ctx.log.error(err, req.ip);
    reply
      .code(code)
      .type('text/plain')
      .send(code === 500 ? 'internal error\n' : `${err.message ?? 'bad request'}\n`);
  });
  return app;
}
