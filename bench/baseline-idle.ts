// The memory, CPU and start-up baseline: a bare Node process that only
// imports Fastify and the AWS SDK clients the sidecar uses, and listens.
// argv[2]: port.
import '@aws-sdk/client-s3';
import '@aws-sdk/client-sts';
import '@aws-sdk/credential-providers';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/livez', async (_req, reply) => reply.type('text/plain').send('ok\n'));
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
