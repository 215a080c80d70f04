import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * One bounded GET of a container credential endpoint, as the SDK's fromHttp
 * sends it, keeping what the SDK throws away: the status and body of a
 * refusal. The default chain reports every container failure as "Could not
 * load credentials from any providers"; this is how the sidecar learns why.
 */

export type ProbeAnswer =
  | { kind: 'answer'; status: number; body: string; contentType: string }
  | { kind: 'network'; code: string; message: string };

const MAX_BODY = 16 * 1024;

export function probeContainerEndpoint(
  url: string,
  authorization: string | undefined,
  timeoutMs = 1000,
): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const done = (a: ProbeAnswer) => {
      if (settled) return;
      settled = true;
      resolve(a);
    };
    const req = send(u, {
      method: 'GET',
      agent: false,
      timeout: timeoutMs,
      headers: authorization === undefined ? {} : { Authorization: authorization },
    });
    req.on('timeout', () => {
      req.destroy();
      done({ kind: 'network', code: 'ETIMEDOUT', message: `no answer within ${timeoutMs} ms` });
    });
    req.on('error', (e: NodeJS.ErrnoException) =>
      done({ kind: 'network', code: e.code ?? 'EIO', message: e.message }),
    );
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BODY) chunks.push(c);
        else res.destroy();
      });
      const finish = () =>
        done({
          kind: 'answer',
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          contentType: String(res.headers['content-type'] ?? ''),
        });
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
    });
    req.end();
  });
}
