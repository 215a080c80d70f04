// What callers can make the sidecar log (SPEC §4, §8): at most 10 lines in
// any second, refusals beyond it summarised by remote address and status;
// every line says the status the client got; a failed live run is named to
// the callers of its window. Real Fastify on loopback, real pino lines.
import { once } from 'node:events';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DiagnoseGate } from '../../src/engine/diagnose-gate.ts';
import { HealthStore } from '../../src/engine/store.ts';
import { callerLog, LINES_PER_SECOND, SUMMARY_MS } from '../../src/http/audit.ts';
import type { AppContext } from '../../src/http/context.ts';
import { buildServer } from '../../src/http/server.ts';
import { Metrics } from '../../src/metrics.ts';
import type { DiagnoseReport } from '../../src/model/diagnose.ts';
import { clearEnv, useEnv } from '../support/sidecar.ts';

const TOKEN = 'caller-log-token-0123456789';

interface Line {
  time: number;
  msg: string;
  audit?: string;
  status?: number;
  delivery?: string;
  suppressed?: number;
  byCaller?: Record<string, number>;
}

const running: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  clearEnv(['S3_HEALTH_DIAGNOSE_TOKEN', 'S3_HEALTH_BUCKET']);
  await Promise.allSettled(running.splice(0).map((r) => r.close()));
});

async function serve(diagnose: AppContext['diagnose']) {
  const config = useEnv({ S3_HEALTH_BUCKET: 'kb-test', S3_HEALTH_DIAGNOSE_TOKEN: TOKEN });
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Line);
      cb();
    },
  });
  const log = callerLog(pino({ level: 'info' }, sink));
  const app = buildServer({
    config,
    store: new HealthStore(config),
    metrics: new Metrics(config, 'test'),
    version: 'test',
    startedAt: Date.now(),
    diagnose,
    log,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  const server = {
    url: `http://127.0.0.1:${addr.port}`,
    lines,
    log,
    close: async () => {
      await app.close();
      log.close();
    },
  };
  running.push(server);
  return server;
}

const never = () => Promise.reject(new Error('no run expected'));

/** The most lines any one-second window holds. */
function peakPerSecond(lines: Line[]): number {
  const times = lines.map((l) => l.time).sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[i] ?? 0) - (times[j] ?? 0) >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

describe('a loop of unauthenticated /diagnose calls', () => {
  it(`logs at most ${LINES_PER_SECOND} lines in any second, and a summary counts the rest by remote and status`, async () => {
    const s = await serve(never);
    const t0 = Date.now();
    let sent = 0;
    while (Date.now() - t0 < 5000) {
      const res = await fetch(`${s.url}/diagnose`);
      await res.arrayBuffer();
      expect(res.status).toBe(401);
      sent++;
    }
    // The last summary is written when its interval ends (or at close).
    await new Promise((r) => setTimeout(r, SUMMARY_MS + 200));
    const audit = s.lines.filter((l) => l.audit === '/diagnose');
    const summaries = s.lines.filter((l) => l.audit === 'suppressed');
    const summarised = summaries.reduce((n, l) => n + (l.suppressed ?? 0), 0);
    console.log(
      `5 s loop: ${sent} unauthenticated calls, ${s.lines.length} log lines (${audit.length} audit, ${summaries.length} summaries), peak ${peakPerSecond(s.lines)} lines in a second`,
    );
    expect(sent).toBeGreaterThan(100);
    expect(peakPerSecond(s.lines)).toBeLessThanOrEqual(LINES_PER_SECOND);
    // Nothing is lost: every call is a line or a count.
    expect(audit.length + summarised).toBe(sent);
    for (const l of summaries) {
      expect(Object.keys(l.byCaller ?? {})).toEqual(['127.0.0.1 401']);
    }
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(s.lines)).not.toContain(TOKEN);
  }, 30_000);
});

describe('the status the client got', () => {
  it('an error the handler answers with a 4xx is logged with that 4xx, not 500', async () => {
    const s = await serve(() =>
      Promise.reject(Object.assign(new Error('bad request'), { statusCode: 400 })),
    );
    const res = await fetch(`${s.url}/diagnose`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(400);
    const audit = s.lines.filter((l) => l.audit === '/diagnose');
    expect(audit.map((l) => [l.status, l.delivery])).toEqual([[400, 'error']]);
  });

  it('a request that arrives while the server closes gets a 503 and a line', async () => {
    let answerFirst: ((e: Error) => void) | undefined;
    const s = await serve(
      () =>
        new Promise((_resolve, reject) => {
          answerFirst = reject;
        }),
    );
    const { port } = new URL(s.url);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    let got = '';
    socket.on('data', (b: Buffer) => {
      got += b.toString();
    });
    // One kept-alive connection: /diagnose is still running when close
    // begins, so the connection stays open and /livez arrives on it after.
    socket.write(`GET /diagnose HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    while (answerFirst === undefined) await new Promise((r) => setTimeout(r, 10));
    const closing = s.close();
    await new Promise((r) => setTimeout(r, 50));
    socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    answerFirst(Object.assign(new Error('bad request'), { statusCode: 400 }));
    await once(socket, 'close');
    await closing;
    const statuses = [...got.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
    expect(statuses).toEqual([400, 503]);
    const lines = s.lines.filter((l) => l.audit !== undefined);
    // The refusal is logged when it is answered, before the slow /diagnose.
    expect(lines.map((l) => [l.audit, l.status, l.delivery])).toEqual([
      ['/livez', 503, 'stopping'],
      ['/diagnose', 400, 'error'],
    ]);
  });
});

describe('a live run that fails', () => {
  it('callers in its window are told it failed and why (429), not served an older report', async () => {
    let calls = 0;
    const gate = new DiagnoseGate<DiagnoseReport>(async () => {
      calls++;
      throw new Error('the diagnoser broke');
    }, 60_000);
    const s = await serve(() => gate.ask());
    const auth = { authorization: `Bearer ${TOKEN}` };
    const first = await fetch(`${s.url}/diagnose`, { headers: auth });
    expect(first.status).toBe(500);
    const next = await fetch(`${s.url}/diagnose`, { headers: auth });
    expect(next.status).toBe(429);
    expect(Number(next.headers.get('retry-after'))).toBeGreaterThan(50);
    expect(await next.text()).toMatch(
      /^429: the last live run failed \d+ s ago \(Error: the diagnoser broke\) and gave no report; the next may start in \d+ s\n$/,
    );
    expect(calls).toBe(1);
    const audit = s.lines.filter((l) => l.audit === '/diagnose');
    expect(audit.map((l) => [l.status, l.delivery])).toEqual([
      [500, 'error'],
      [429, 'spaced'],
    ]);
  });
});
