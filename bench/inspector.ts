// A full GC on demand in a child started with --inspect=127.0.0.1:PORT,
// through the DevTools protocol (HeapProfiler.collectGarbage), then its
// heap usage: what the process really retains, as opposed to the garbage V8
// lets pile up while memory is plentiful.
import { getText } from './http.ts';

interface Target {
  webSocketDebuggerUrl: string;
}

interface Reply {
  id?: number;
  result?: { usedSize?: number; totalSize?: number; result?: { value?: unknown } };
  error?: { message: string };
}

export interface HeapAfterGc {
  usedBytes: number;
  totalBytes: number;
  /** process.memoryUsage() in the child, right after the GC: where RSS outside the heap goes */
  external: number;
  arrayBuffers: number;
  /** V8's heap spaces (v8.getHeapSpaceStatistics space_size), by name: what the heap holds pages for */
  spaces: Record<string, number>;
}

export async function gcAndMeasure(inspectPort: number): Promise<HeapAfterGc> {
  const list = JSON.parse((await getText(`http://127.0.0.1:${inspectPort}/json/list`)).body) as
    | Target[]
    | undefined;
  const url = list?.[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error('no inspector target');
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error('inspector connection failed')), {
      once: true,
    });
  });
  let next = 1;
  const pending = new Map<number, (r: Reply) => void>();
  ws.addEventListener('message', (ev: MessageEvent) => {
    const r = JSON.parse(String(ev.data)) as Reply;
    if (r.id !== undefined) pending.get(r.id)?.(r);
  });
  const call = (method: string, params?: object): Promise<Reply> => {
    const id = next++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer`)), 30_000);
      pending.set(id, (r) => {
        clearTimeout(timer);
        if (r.error) reject(new Error(`${method}: ${r.error.message}`));
        else resolve(r);
      });
      ws.send(JSON.stringify({ id, method, ...(params ? { params } : {}) }));
    });
  };
  try {
    await call('HeapProfiler.collectGarbage');
    const usage = await call('Runtime.getHeapUsage');
    const mem = await call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    const sp = await call('Runtime.evaluate', {
      expression:
        "JSON.stringify(Object.fromEntries(process.getBuiltinModule('node:v8').getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size])))",
      returnByValue: true,
    });
    const spValue = sp.result?.result?.value;
    const spaces = (typeof spValue === 'string' ? JSON.parse(spValue) : {}) as Record<
      string,
      number
    >;
    const value = mem.result?.result?.value;
    const m = (typeof value === 'string' ? JSON.parse(value) : {}) as {
      external?: number;
      arrayBuffers?: number;
    };
    return {
      usedBytes: usage.result?.usedSize ?? Number.NaN,
      totalBytes: usage.result?.totalSize ?? Number.NaN,
      external: m.external ?? Number.NaN,
      arrayBuffers: m.arrayBuffers ?? Number.NaN,
      spaces,
    };
  } finally {
    ws.close();
  }
}
