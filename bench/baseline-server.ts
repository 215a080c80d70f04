// The throughput baseline: a bare Fastify (defaults, no logger) whose routes
// return the very bytes, status and content type the sidecar answered.
// argv[2]: port; argv[3]: JSON file of { path: CannedAnswer }.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

export interface CannedAnswer {
  status: number;
  contentType: string;
  body: string;
}

const port = Number(process.argv[2]);
const routes = JSON.parse(readFileSync(process.argv[3] ?? '', 'utf8')) as Record<
  string,
  CannedAnswer
>;
const app = Fastify({ logger: false });
for (const [path, canned] of Object.entries(routes)) {
  app.get(path, async (_req, reply) =>
    reply.code(canned.status).type(canned.contentType).send(canned.body),
  );
}
await app.listen({ port, host: '127.0.0.1' });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
