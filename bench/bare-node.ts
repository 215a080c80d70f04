// The memory baseline issue 13 names: a bare `node` process of the same
// binary, a node:http server answering `ok`, started the way every bench
// process is (procs.ts: same flags, same network guard).
import { getText } from './http.ts';
import { baseEnv, freePort, type Proc, spawnNode, stopProc, waitFor } from './procs.ts';

const BARE_SERVER = `require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.argv[1]), '127.0.0.1');`;

export interface BareNode {
  proc: Proc;
  url: string;
  close(): Promise<void>;
}

export async function startBareNode(nodeArgs: string[] = []): Promise<BareNode> {
  const port = await freePort();
  const proc = spawnNode('bare-node', [...nodeArgs, '-e', BARE_SERVER, String(port)], baseEnv());
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      'bare node answering',
      async () => ((await getText(`${url}/`, 500)).status === 200 ? true : undefined),
      15_000,
    );
  } catch (e) {
    await stopProc(proc);
    throw e;
  }
  return { proc, url, close: () => stopProc(proc) };
}
