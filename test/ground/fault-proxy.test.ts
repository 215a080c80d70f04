// The fault proxy against a tiny echo peer (exact bytes and timings) and
// against the real radosgw through the real SDK (signatures survive it, its
// S3 errors are what the SDK and our classifier expect).
import { createServer, request, type Server } from 'node:http';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type FaultProxy,
  S3_INTERNAL_ERROR,
  S3_SLOW_DOWN,
  startFaultProxy,
} from '../../ground/fault/proxy.ts';
import { createBucket } from '../../ground/radosgw/info.ts';
import { classify } from '../../src/aws/errors.ts';

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  ms: number;
}

function call(
  url: string,
  opts: {
    method?: string;
    body?: string;
    timeoutMs?: number;
    agent?: import('node:http').Agent;
  } = {},
): Promise<Answer> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: opts.method ?? 'GET',
      agent: opts.agent ?? false,
      headers: { host: 'signed.example:1234', 'x-trace': 'abc' },
    });
    const timer = setTimeout(
      () => req.destroy(new Error('client timeout')),
      opts.timeoutMs ?? 3000,
    );
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          headers: res.headers,
          ms: Date.now() - t0,
        });
      });
    });
    req.end(opts.body);
  });
}

let peer: Server;
let peerUrl: string;
let peerCalls = 0;
let proxy: FaultProxy;
const BODY = 'x'.repeat(40);

beforeAll(async () => {
  peer = createServer((req, res) => {
    peerCalls++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(201, {
        'content-type': 'text/plain',
        'x-seen-host': req.headers.host ?? '',
        'x-seen-trace': String(req.headers['x-trace']),
        'x-seen-body': Buffer.concat(chunks).toString(),
      });
      res.end(BODY);
    });
  });
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
  const addr = peer.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  peerUrl = `http://127.0.0.1:${addr.port}`;
  proxy = await startFaultProxy({ target: peerUrl });
});

afterAll(async () => {
  await proxy?.close();
  peer.closeAllConnections();
  await new Promise<void>((r) => peer.close(() => r()));
});

afterEach(async () => {
  await proxy.set({ kind: 'pass' });
});

describe('against an echo peer', () => {
  it('pass forwards method, headers (Host as signed) and body both ways', async () => {
    const a = await call(`${proxy.url}/p?q=1`, { method: 'PUT', body: 'hello' });
    expect(a.status).toBe(201);
    expect(a.body).toBe(BODY);
    expect(a.headers['x-seen-host']).toBe('signed.example:1234');
    expect(a.headers['x-seen-trace']).toBe('abc');
    expect(a.headers['x-seen-body']).toBe('hello');
  });

  it('status answers without the peer, only for matching requests', async () => {
    await proxy.set({ kind: 'status', status: 503, body: 'slow down' }, { method: 'DELETE' });
    const before = peerCalls;
    const del = await call(`${proxy.url}/k`, { method: 'DELETE' });
    expect(del.status).toBe(503);
    expect(del.body).toBe('slow down');
    expect(peerCalls).toBe(before);
    const get = await call(`${proxy.url}/k`);
    expect(get.status).toBe(201);
    expect(peerCalls).toBe(before + 1);
    expect(proxy.stats().faulted).toBeGreaterThanOrEqual(1);
  });

  it('rewrite lets the peer act, then answers the given status instead', async () => {
    await proxy.set({ kind: 'rewrite', status: 500, body: 'oops' }, { method: 'PUT' });
    const before = peerCalls;
    const a = await call(`${proxy.url}/k`, { method: 'PUT', body: 'v' });
    expect(a.status).toBe(500);
    expect(a.body).toBe('oops');
    expect(peerCalls).toBe(before + 1);
  });

  it('reset gives the client ECONNRESET', async () => {
    await proxy.set({ kind: 'reset' });
    await expect(call(`${proxy.url}/`)).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('blackhole never answers; the client has to give up', async () => {
    await proxy.set({ kind: 'blackhole' });
    await expect(call(`${proxy.url}/`, { timeoutMs: 300 })).rejects.toThrow('client timeout');
  });

  it('delay answers after the delay', async () => {
    await proxy.set({ kind: 'delay', ms: 300 });
    const a = await call(`${proxy.url}/`);
    expect(a.status).toBe(201);
    expect(a.ms).toBeGreaterThanOrEqual(290);
  });

  it('truncate lets the peer act, then cuts the answer mid-body', async () => {
    await proxy.set({ kind: 'truncate', bytes: 10 });
    const before = peerCalls;
    await expect(call(`${proxy.url}/`, { method: 'PUT', body: 'b' })).rejects.toThrow();
    expect(peerCalls).toBe(before + 1);
  });

  it('slow-body trickles the body', async () => {
    await proxy.set({ kind: 'slow-body', chunkBytes: 10, intervalMs: 100 });
    const a = await call(`${proxy.url}/`);
    expect(a.body).toBe(BODY);
    expect(a.ms).toBeGreaterThanOrEqual(4 * 95);
  });

  it('refuse closes the port (ECONNREFUSED) and pass reopens the same one', async () => {
    await proxy.set({ kind: 'refuse' });
    await expect(call(`${proxy.url}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await proxy.set({ kind: 'pass' });
    expect((await call(`${proxy.url}/`)).status).toBe(201);
  });

  it('a kept-alive connection sees a new mode on its next request', async () => {
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await call(`${proxy.url}/`, { agent })).status).toBe(201);
      await proxy.set(S3_INTERNAL_ERROR);
      expect((await call(`${proxy.url}/`, { agent })).status).toBe(500);
    } finally {
      agent.destroy();
    }
  });

  it('next() resolves on a matching request and on its answer', async () => {
    const seen = proxy.next({ method: 'PUT' });
    const done = proxy.next({ method: 'PUT' }, 'answered');
    await call(`${proxy.url}/z`, { method: 'PUT', body: '1' });
    expect((await seen).url).toBe('/z');
    expect((await done).status).toBe(201);
  });
});

describe('in front of the real radosgw', () => {
  const rgw = inject('rgw');
  const bucket = `fp-${Date.now().toString(36)}`;
  let s3: S3Client;
  let rgwProxy: FaultProxy;

  beforeAll(async () => {
    await createBucket(rgw, bucket);
    rgwProxy = await startFaultProxy({ target: rgw.endpoint });
    s3 = new S3Client({
      endpoint: rgwProxy.url,
      region: rgw.region,
      credentials: rgw.admin,
      forcePathStyle: true,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
  afterAll(async () => {
    s3?.destroy();
    await rgwProxy?.close();
  });

  it('signed requests pass through unchanged', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }));
    expect(await got.Body?.transformToString()).toBe('v');
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }));
  });

  it('SlowDown and InternalError read as the SDK reads AWS, and classify', async () => {
    await rgwProxy.set(S3_SLOW_DOWN, { method: 'PUT' });
    const slow = await s3
      .send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v' }))
      .catch((e: unknown) => e);
    expect(slow).toMatchObject({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
    expect(classify(slow, 's3').reason).toBe('s3_throttled');
    await rgwProxy.set(S3_INTERNAL_ERROR, { method: 'HEAD' });
    const head = await s3
      .send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }))
      .catch((e: unknown) => e);
    expect(head).toMatchObject({ $metadata: { httpStatusCode: 500 } });
    expect(classify(head, 's3').reason).toBe('s3_server_error');
    await rgwProxy.set({ kind: 'pass' });
  });
});
