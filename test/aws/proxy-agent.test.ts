// The proxy agents under the real SDK client, against proxies that fail the
// ways production ones do: one that takes the connection and never answers
// CONNECT (a silent proxy) is named proxy_timeout within half the deadline,
// and its socket is torn down, not left open for the proxy to close.
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, expect, it } from 'vitest';
import { classify } from '../../src/aws/errors.ts';
import { ProxyError, proxyAgents } from '../../src/aws/proxy-agent.ts';
import { proxyVarsOf } from '../../src/config/proxy-env.ts';
import { startBlackhole } from '../support/blackhole.ts';

const open: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.allSettled(open.map((o) => o.close()));
});

function client(proxy: string, connectTimeoutMs: number): S3Client {
  const agents = proxyAgents(proxyVarsOf({ HTTPS_PROXY: proxy }), connectTimeoutMs);
  return new S3Client({
    region: 'eu-west-1',
    endpoint: 'https://127.0.0.2:9',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 5000,
      requestTimeout: 5000,
      ...agents,
    }),
  });
}

it('a proxy that never answers CONNECT: ProxyError timeout after the connect deadline, socket closed', async () => {
  const hole = await startBlackhole();
  open.push(hole);
  const s3 = client(hole.url, 400);
  try {
    const t0 = performance.now();
    const err = await s3.send(new HeadBucketCommand({ Bucket: 'kb' })).catch((e: unknown) => e);
    const ms = performance.now() - t0;
    expect(err).toBeInstanceOf(ProxyError);
    expect((err as ProxyError).failure).toBe('timeout');
    expect(ms).toBeGreaterThanOrEqual(390);
    expect(ms).toBeLessThan(3000);
    const c = classify(err, 's3');
    expect(c.reason).toBe('proxy_timeout');
    expect(c.detail).toMatchObject({
      proxy: `${hole.url}/`,
      proxyTarget: '127.0.0.2:9',
    });
    // The agent destroyed its half-open tunnel.
    const end = Date.now() + 2000;
    while (hole.open() > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(hole.open()).toBe(0);
  } finally {
    s3.destroy();
  }
});

it('proxy credentials are used, and masked in what the error says', async () => {
  const hole = await startBlackhole();
  open.push(hole);
  const withAuth = hole.url.replace('http://', 'http://ops:pa%40ss@');
  const s3 = client(withAuth, 200);
  try {
    const err = await s3.send(new HeadBucketCommand({ Bucket: 'kb' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProxyError);
    const text = `${(err as ProxyError).message} ${(err as ProxyError).proxy}`;
    expect(text).toContain('***@');
    expect(text).not.toContain('pa%40ss');
    expect(text).not.toContain('ops:');
  } finally {
    s3.destroy();
  }
});

it('no proxy variable: no agents, the SDK keeps its own', () => {
  expect(proxyAgents(proxyVarsOf({ NO_PROXY: 'localhost' }), 1000)).toBeUndefined();
});
