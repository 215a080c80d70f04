// Can this machine build the namespace topology? Probed once, inside a
// throwaway network namespace (`unshare --net`), so the root namespace's
// links and iptables are never touched.
import { spawnSync } from 'node:child_process';

export type Availability = { ok: true } | { ok: false; why: string };

// Every kernel feature the topology uses, exercised once.
const PROBE = [
  'set -e',
  'ip link add s3hprobe0 type veth peer name s3hprobe1',
  'ip link add s3hprobebr type bridge',
  'iptables -t mangle -A PREROUTING -p tcp --dport 80 -m string --algo bm --string "PUT /x" -j CONNMARK --set-xmark 0x1/0x1',
  'iptables -t mangle -A OUTPUT -p tcp --sport 80 -m connmark --mark 0x1/0x1 -j TTL --ttl-set 1',
  'iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE',
  'sysctl -qw net.ipv4.ip_forward=1',
].join('\n');

let cached: Availability | undefined;

function hasTool(name: string, args: string[]): boolean {
  const result = spawnSync(name, args, { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

export function netnsAvailable(): Availability {
  cached ??= probe();
  return cached;
}

function probe(): Availability {
  if (process.platform !== 'linux') return { ok: false, why: `platform is ${process.platform}` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'needs root (uid 0)' };
  const tools: Array<[string, string[]]> = [
    ['ip', ['-V']],
    ['iptables', ['--version']],
    ['unshare', ['--version']],
    ['nsenter', ['--version']],
    ['ss', ['-V']],
  ];
  for (const [tool, args] of tools) {
    if (!hasTool(tool, args)) return { ok: false, why: `${tool} not found or not working` };
  }
  const result = spawnSync('unshare', ['--net', 'sh', '-c', PROBE], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (result.error !== undefined)
    return { ok: false, why: `probe failed: ${result.error.message}` };
  if (result.status !== 0) {
    return {
      ok: false,
      why: `kernel/iptables feature missing (veth, bridge, string, connmark, TTL, MASQUERADE): ${result.stderr.trim()}`,
    };
  }
  return { ok: true };
}
