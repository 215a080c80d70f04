// The throughput baselines: Fastify routes returning the very bytes, status
// and content type the sidecar answered, with no work behind them.
// argv[2]: port; argv[3]: JSON file of { path: CannedAnswer };
// argv[4]: `bare` (Fastify defaults, no logger) or `configured` (the options
// and pino logger src/http/server.ts gives the sidecar's Fastify, copied
// here), which separates the cost of that configuration from the handlers'.
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino from 'pino';

export interface CannedAnswer {
  status: number;
  contentType: string;
  /** the sidecar's cache-control header, when it sent one */
  cacheControl?: string;
  body: string;
}

const port = Number(process.argv[2]);
const routes = JSON.parse(readFileSync(process.argv[3] ?? '', 'utf8')) as Record<
  string,
  CannedAnswer
>;
const logger: FastifyBaseLogger = pino({ level: 'info', base: { service: 's3-health' } });
const app: FastifyInstance =
  process.argv[4] === 'configured'
    ? Fastify({
        loggerInstance: logger,
        disableRequestLogging: true,
        bodyLimit: 1024,
        connectionTimeout: 30_000,
        requestTimeout: 60_000,
        keepAliveTimeout: 5_000,
        maxParamLength: 64,
        return503OnClosing: true,
        forceCloseConnections: 'idle',
      })
    : Fastify({ logger: false });
for (const [path, canned] of Object.entries(routes)) {
  app.get(path, async (_req, reply) => {
    if (canned.cacheControl) reply.header('cache-control', canned.cacheControl);
    return reply.code(canned.status).type(canned.contentType).send(canned.body);
  });
}
await app.listen({ port, host: '127.0.0.1' });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
