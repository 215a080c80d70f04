import type { IncomingMessage } from 'node:http';

/**
 * The whole request body as text, or undefined when it is larger than
 * `maxBytes`: the excess is read and dropped (not buffered), so an emulator
 * can still answer 413 on the same connection.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= maxBytes) chunks.push(c);
    });
    req.on('end', () => resolve(size > maxBytes ? undefined : Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}
