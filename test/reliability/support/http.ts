// Plain HTTP for the tests: one connection per call (no pooling that could
// hide a server that stopped accepting), a deadline on every call.
import { request } from 'node:http';

export interface TextAnswer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

export function getText(
  url: string,
  timeoutMs = 2000,
  headers: Record<string, string> = {},
): Promise<TextAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h[k] = v;
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          headers: h,
        });
      });
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
}

export interface CheckView {
  status: string;
  output?: string;
}

/** The served verdict of every check, from /healthz (never waits on AWS). */
export async function verdicts(
  base: string,
): Promise<{ status: string; checks: Record<string, CheckView> }> {
  const a = await getText(`${base}/healthz`, 2000);
  const doc = JSON.parse(a.body) as {
    status: string;
    checks: Record<string, { componentId: string; status: string; output?: string }[]>;
  };
  const checks: Record<string, CheckView> = {};
  for (const entries of Object.values(doc.checks)) {
    const e = entries[0];
    if (e) checks[e.componentId] = { status: e.status, ...(e.output ? { output: e.output } : {}) };
  }
  return { status: doc.status, checks };
}

/** `reason: text` as health+json writes a non-passing check's output. */
export function reasonOf(v: CheckView | undefined): string | undefined {
  return v?.output?.split(':')[0];
}

export async function waitUntil(
  what: string,
  pred: () => Promise<boolean>,
  ms: number,
  everyMs = 100,
): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await pred().catch(() => false)) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
