import { request } from 'node:http';

export interface TextAnswer {
  status: number;
  body: string;
  contentType: string;
  headers: Record<string, string>;
}

/**
 * One GET on a fresh connection (no pooling), so a poll never waits behind
 * a kept-alive socket the server is about to close.
 */
export function getText(url: string, timeoutMs = 2000): Promise<TextAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (typeof v === 'string') headers[k] = v;
        }
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          contentType: headers['content-type'] ?? '',
          headers,
        });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** A sample value of a Prometheus series (first match), e.g. `s3_health_up`. */
export function metricValue(exposition: string, series: string): number | undefined {
  for (const line of exposition.split('\n')) {
    if (line.startsWith(series) && line[series.length] === ' ') {
      return Number(line.slice(series.length + 1).split(' ')[0]);
    }
  }
  return undefined;
}
