// Runs in every test process before any test: no test may reach EC2's real
// metadata addresses, and nothing from the developer's machine (keys,
// profiles, proxies) may leak into what the SDK resolves.
import net from 'node:net';

const FORBIDDEN = new Set(['169.254.169.254', 'fd00:ec2::254', '169.254.170.2', '169.254.170.23']);

type ConnectFn = (...args: unknown[]) => net.Socket;
const original = net.Socket.prototype.connect as unknown as ConnectFn;

function targetHost(args: unknown[]): string | undefined {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === 'object' && first !== null && 'host' in first) {
    const h = (first as { host?: unknown }).host;
    return typeof h === 'string' ? h : undefined;
  }
  return typeof args[1] === 'string' ? args[1] : undefined;
}

net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
  const host = targetHost(args)?.replace(/^\[|\]$/g, '');
  if (host !== undefined && FORBIDDEN.has(host)) {
    throw new Error(`network guard: a test tried to reach ${host}; point it at an emulator`);
  }
  return original.apply(this, args);
} as unknown as typeof net.Socket.prototype.connect;

for (const name of Object.keys(process.env)) {
  if (
    /^AWS_/.test(name) ||
    /^(HTTPS?|NO|ALL)_PROXY$/i.test(name) ||
    name.startsWith('S3_HEALTH_')
  ) {
    delete process.env[name];
  }
}
// A closed port on loopback: anything that still asks IMDS gets ECONNREFUSED at once.
process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = 'http://127.0.0.1:9';
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/s3-health-test/credentials';
process.env.AWS_CONFIG_FILE = '/nonexistent/s3-health-test/config';
