// The receiver on-call would have: a loopback HTTP server recording every
// Alertmanager webhook notification with the time it arrived.
import { createServer } from 'node:http';
import { listen, trackServer } from '../shared/http-sockets.ts';

export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** Alertmanager's webhook payload (version 4), the fields the fleet reads. */
export interface Notification {
  /** Date.now() when the request arrived */
  receivedAt: number;
  /** the URL path: which receiver's webhook was called */
  path: string;
  receiver: string;
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  alerts: WebhookAlert[];
}

export interface WebhookRecorder {
  url: string;
  all(): Notification[];
  since(t: number): Notification[];
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

export async function startWebhookRecorder(): Promise<WebhookRecorder> {
  const got: Notification[] = [];
  const server = createServer((req, res) => {
    const receivedAt = Date.now();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<
          Notification,
          'receivedAt' | 'path'
        >;
        got.push({
          receivedAt,
          path: req.url ?? '',
          receiver: body.receiver,
          status: body.status,
          groupLabels: body.groupLabels,
          alerts: body.alerts.map((a) => ({
            status: a.status,
            labels: a.labels,
            annotations: a.annotations,
            startsAt: a.startsAt,
            endsAt: a.endsAt,
          })),
        });
        res.writeHead(200).end('ok');
      } catch {
        res.writeHead(400).end('not an Alertmanager webhook payload');
      }
    });
  });
  const tracked = trackServer(server);
  const port = await listen(server, 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    all: () => [...got],
    since: (t) => got.filter((n) => n.receivedAt >= t),
    close: () => tracked.close(),
  };
}
