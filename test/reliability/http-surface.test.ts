// The HTTP surface against bad input, as raw bytes on a socket to the real
// sidecar process: fast-check request targets and methods, bad query
// strings, long URLs, huge and numerous headers, smuggling attempts,
// slowloris clients. Always a clear HTTP answer (never a 500), and the
// process, /livez and /healthz keep answering.
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Ground, startGround } from '../../ground/ground.ts';
import { closeAll } from './support/harness.ts';
import { getText } from './support/http.ts';
import { load } from './support/load.ts';
import { freePort, type SidecarProcess, spawnSidecar, waitListening } from './support/process.ts';
import { addRow } from './support/summary.ts';

const rgw = inject('rgw');
let ground: Ground;
let s: SidecarProcess;
const tally = new Map<string, number>();
let tried = 0;

function count(status: string): void {
  tally.set(status, (tally.get(status) ?? 0) + 1);
}

/** Writes `data`, returns the status code of the first answer ('none' when the socket closed without one). */
function raw(data: string | Buffer, ms = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(s.port, '127.0.0.1');
    let out = '';
    const done = (v: string) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(out === '' ? 'no answer in time' : status(out)), ms);
    const status = (text: string) =>
      /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? `garbled: ${text.slice(0, 40)}`;
    sock.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (out.includes('\r\n')) done(status(out));
    });
    sock.on('error', () => {});
    sock.on('close', () => done(out === '' ? 'none' : status(out)));
    sock.write(data);
  });
}

const ROUTES = [
  '/',
  '/livez',
  '/healthz',
  '/readyz',
  '/healthz/s3',
  '/readyz/imds',
  '/metrics',
  '/diagnose',
];

/** Acceptable: any 2xx-4xx, and 503 (a health verdict); never a 500 or a silent close. */
function clear(status: string): boolean {
  return /^[234]\d\d$/.test(status) || status === '503';
}

const slowloris: {
  sockets: net.Socket[];
  closedAt: number[];
  answers: string[];
  startedAt: number;
} = { sockets: [], closedAt: [], answers: [], startedAt: 0 };

beforeAll(async () => {
  ground = await startGround(rgw);
  s = spawnSidecar(
    { ...ground.env, S3_HEALTH_INTERVAL_SECONDS: '1', S3_HEALTH_TIMEOUT_SECONDS: '1' },
    await freePort(),
  );
  await waitListening(s);
  // Slowloris clients for the whole file: headers trickled, never finished.
  slowloris.startedAt = Date.now();
  for (let i = 0; i < 50; i++) {
    const sock = net.connect(s.port, '127.0.0.1');
    sock.on('error', () => {});
    let out = '';
    sock.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => sock.write('X-Slow: 1\r\n'), 1000);
    sock.on('close', () => {
      clearInterval(drip);
      slowloris.closedAt.push(Date.now() - slowloris.startedAt);
      slowloris.answers.push(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 'none');
    });
    slowloris.sockets.push(sock);
  }
}, 60_000);

afterAll(async () => {
  for (const sock of slowloris.sockets) sock.destroy();
  addRow('inputs', [
    'HTTP surface, raw sockets (fast-check targets × methods, fixed cases)',
    tried,
    [...tally.entries()]
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(', '),
    s?.child.exitCode === null ? 0 : 1,
  ]);
  await closeAll(ground);
});

describe('request targets and methods (fast-check)', () => {
  const target = fc.oneof(
    fc.webPath(),
    fc.tuple(fc.constantFrom(...ROUTES), fc.webQueryParameters()).map(([r, q]) => `${r}?${q}`),
    fc
      .tuple(fc.constantFrom(...ROUTES), fc.string({ maxLength: 60 }))
      .map(([r, q]) => `${r}?${encodeURI(q)}`),
    fc
      .tuple(
        fc.constantFrom(...ROUTES),
        fc.array(
          fc.constantFrom(
            '%',
            '%z',
            '%zz',
            '%E0%A4%A',
            '%00',
            '%2F',
            '%C0%AE',
            '?',
            '&',
            '=',
            '[]',
            '#',
          ),
          {
            maxLength: 8,
          },
        ),
      )
      .map(([r, parts]) => `${r}${parts.join('')}`),
    fc.string({ unit: 'binary-ascii', maxLength: 80 }).map((x) => `/${x}`),
    fc.nat({ max: 20_000 }).map((n) => `/healthz/${'a'.repeat(n)}`),
    fc.nat({ max: 20_000 }).map((n) => `/healthz?${'verbose&'.repeat(Math.floor(n / 8))}`),
  );
  const method = fc.oneof(
    fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
    fc.constantFrom('TRACE', 'PROPFIND', 'SEARCH', 'QUERY', 'LOCK', 'PURGE', 'BREW', 'get'),
    fc.stringMatching(/^[A-Z-]{1,16}$/),
  );

  it('always a clear answer (2xx-4xx or a 503 verdict), never a 500 or a silent close', async () => {
    await fc.assert(
      fc.asyncProperty(target, method, async (t, m) => {
        tried++;
        const st = await raw(`${m} ${t} HTTP/1.1\r\nHost: sidecar\r\nConnection: close\r\n\r\n`);
        count(st);
        expect(clear(st), `${m} ${t.slice(0, 80)} -> ${st}`).toBe(true);
      }),
      { numRuns: 1000 },
    );
    expect((await getText(`${s.url}/livez`)).status).toBe(200);
  }, 120_000);
});

describe('fixed hostile requests', () => {
  const big = (n: number) => 'a'.repeat(n);
  const cases: [string, string, RegExp][] = [
    ['header of 20 KiB', `GET /livez HTTP/1.1\r\nHost: x\r\nX-A: ${big(20_000)}\r\n\r\n`, /^431$/],
    [
      '3000 headers',
      `GET /livez HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-${i}: v`).join('\r\n')}\r\n\r\n`,
      /^431$/,
    ],
    ['URL of 15 KB', `GET /${big(15_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, /^404$/],
    ['URL of 20 KB', `GET /${big(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, /^4\d\d$/],
    ['param over maxParamLength', `GET /healthz/${big(200)} HTTP/1.1\r\nHost: x\r\n\r\n`, /^414$/],
    [
      'CL and TE together (smuggling)',
      'POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      /^400$/,
    ],
    [
      'POST with a 10 MB Content-Length',
      `POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n${big(2000)}`,
      /^4\d\d$/,
    ],
    [
      'GET with a body',
      `GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n${big(5000)}`,
      /^200$/,
    ],
    ['no Host header', 'GET /livez HTTP/1.1\r\n\r\n', /^400$/],
    ['HTTP/1.0', 'GET /livez HTTP/1.0\r\n\r\n', /^200$/],
    ['absolute-form target', 'GET http://elsewhere/livez HTTP/1.1\r\nHost: x\r\n\r\n', /^200$/],
    ['binary garbage', '\u0000\u0001\u0002 hello\r\n\r\n', /^400$/],
    ['bare LF line ends', 'GET /livez HTTP/1.1\nHost: x\n\n', /^(200|400)$/],
    [
      'control char in a header',
      'GET /diagnose HTTP/1.1\r\nHost: x\r\nAccept: a\u007f\r\n\r\n',
      /^400$/,
    ],
    [
      'empty bearer',
      'GET /diagnose HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \r\n\r\n',
      /^(200|503)$/,
    ],
    [
      'prototype keys in the query',
      'GET /healthz?__proto__[verbose]=1&constructor[prototype]=1 HTTP/1.1\r\nHost: x\r\n\r\n',
      /^(200|503)$/,
    ],
    [
      'format given twice',
      'GET /diagnose?format=json&format=text HTTP/1.1\r\nHost: x\r\n\r\n',
      /^(200|503)$/,
    ],
    [
      'Upgrade: websocket',
      'GET /livez HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
      /^(200|4\d\d)$/,
    ],
    [
      'pipelined requests',
      'GET /livez HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
      /^200$/,
    ],
  ];
  it.each(cases)('%s', async (_name, req, want) => {
    tried++;
    const st = await raw(req);
    count(st);
    expect(st).toMatch(want);
  });

  // Found here, reported: Node's HTTP server closes a CONNECT request's socket
  // without a word when nobody listens for 'connect' (Fastify does not).
  // Fix: app.server.on('connect', (_req, socket) => socket.end('HTTP/1.1 405
  // Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')).
  it('CONNECT gets a clear 405 rather than a silent close', async () => {
    tried++;
    const st = await raw('CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n');
    count(st);
    expect(st).toBe('405');
  });
});

/**
 * "Not slowed": a server that let trickling clients hold its accept loop or
 * event loop would answer in seconds (autocannon gives up at 2 s); the
 * health routes answer in 7-100 ms on the reference machine, the upper end
 * with other reliability files running beside this one.
 */
const SLOWLORIS_P99_MS = 500;

describe('slowloris clients', () => {
  it('50 trickling connections do not slow /livez or /healthz (autocannon)', async () => {
    const open = slowloris.sockets.filter((x) => !x.destroyed).length;
    const live = await load(`${s.url}/livez`, 3, { rate: 200 });
    const health = await load(`${s.url}/healthz`, 3, { rate: 200 });
    addRow('inputs', [
      `slowloris: ${open} connections trickling headers`,
      live.answered + health.answered,
      `/livez p99 ${live.p99} ms (${live.errors} errors), /healthz p99 ${health.p99} ms (${health.errors} errors)`,
      s.child.exitCode === null ? 0 : 1,
    ]);
    expect(open).toBe(50);
    expect(live.errors + live.timeouts + health.errors + health.timeouts).toBe(0);
    expect(live.byStatus['200']).toBe(live.answered);
    expect(live.p99, '/livez p99 ms with 50 slowloris clients').toBeLessThanOrEqual(
      SLOWLORIS_P99_MS,
    );
    expect(health.p99, '/healthz p99 ms with 50 slowloris clients').toBeLessThanOrEqual(
      SLOWLORIS_P99_MS,
    );
  }, 30_000);

  // Found here, reported: slow clients are only cut by Node's headersTimeout
  // (60 s, Fastify's requestTimeout) checked every 30 s: a trickling client
  // holds its socket 60-90 s (measured: 408 at 90 s). For a GET-only surface
  // with tiny requests, 10 s is plenty. Fix in http/server.ts: after
  // Fastify(...), `app.server.headersTimeout = 10_000` and requestTimeout
  // 15_000 (Fastify option), and `http: { connectionsCheckingInterval: 2000 }`
  // is not a Fastify option, so pass a serverFactory with
  // http.createServer({ connectionsCheckingInterval: 2000, ... }).
  it('the slowloris connections got a 408 within 20 s', async () => {
    const deadline = slowloris.startedAt + 20_000;
    while (slowloris.closedAt.length < 50 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
    }
    addRow('inputs', [
      'slowloris: cut within 20 s?',
      50,
      `${slowloris.closedAt.length} cut by ${Math.round((Date.now() - slowloris.startedAt) / 1000)} s (${[...new Set(slowloris.answers)].join(', ') || 'none yet'})`,
      s.child.exitCode === null ? 0 : 1,
    ]);
    expect(slowloris.closedAt.length).toBe(50);
    expect(new Set(slowloris.answers)).toEqual(new Set(['408']));
  }, 30_000);

  it('the process is still alive and healthy', async () => {
    expect(s.child.exitCode).toBeNull();
    expect((await getText(`${s.url}/livez`)).status).toBe(200);
    expect([200, 503]).toContain((await getText(`${s.url}/healthz`)).status);
  });
});
