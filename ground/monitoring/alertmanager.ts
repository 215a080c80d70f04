// A real Alertmanager (Debian's `prometheus-alertmanager`) on loopback, with
// a temp data directory and clustering off (--cluster.listen-address=).
import { join } from 'node:path';
import { type MonitoringPeer, startPeer } from './peer.ts';

export interface AmAlert {
  labels: Record<string, string>;
  status: { state: string; inhibitedBy: string[] };
}

export interface Alertmanager extends MonitoringPeer {
  /** Every alert Alertmanager holds, with its state (active, suppressed) and inhibitors. */
  alerts(): Promise<AmAlert[]>;
}

export async function startAlertmanager(configYaml: string): Promise<Alertmanager> {
  const peer = await startPeer({
    name: 'alertmanager',
    bin: 'prometheus-alertmanager',
    pkg: 'prometheus-alertmanager',
    files: { 'alertmanager.yml': configYaml },
    args: (dir, port) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    readyPath: '/-/ready',
  });
  return {
    ...peer,
    async alerts() {
      const res = await fetch(`${peer.url}/api/v2/alerts`, { signal: AbortSignal.timeout(10_000) });
      return (await res.json()) as AmAlert[];
    },
  };
}
