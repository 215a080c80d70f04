// The EC2 topology with real IP TTL, built from three network namespaces:
//
//   container ──(bridge s3hbr0, 10.254.2.0/24)── host ──(veth, 10.254.0.0/30)── aws
//                                                 NAT, ip_forward,              169.254.169.254:80
//                                                 no default route              10.254.1.0/24 peers
//
// IMDS cannot live in the namespace that forwards the container's traffic
// (its replies would never be forwarded, hence never decremented), so "aws"
// is one routed hop away from "host", as on EC2. The hop limit is the TTL
// set on the token PUT's answer only, by iptables in "aws".
import { randomBytes } from 'node:crypto';
import { onExit } from '../shared/exit-hooks.ts';
import { killGroup } from '../shared/process.ts';
import { netnsAvailable } from './check.ts';
import {
  type ExecResult,
  execTracked,
  type SpawnedProcess,
  type SpawnOptions,
  spawnTracked,
} from './proc.ts';
import {
  destroyNamespaces,
  destroyNamespacesSync,
  NAME_PREFIX,
  reapStaleTopologies,
  register,
  unregister,
} from './registry.ts';

export type { Availability } from './check.ts';
export { netnsAvailable } from './check.ts';
export type { ExecResult, SpawnedProcess } from './proc.ts';
export { listNamespaces, reapStaleTopologies } from './registry.ts';

export type Role = 'aws' | 'host' | 'container';

/** Addresses exist only inside the namespaces, so every topology uses the same plan. */
export const IP_PLAN = {
  imdsAddress: '169.254.169.254',
  /** veth between host and aws */
  awsLink: { subnet: '10.254.0.0/30', hostSide: '10.254.0.1', awsSide: '10.254.0.2' },
  /** routed from host into aws; addresses here can be added with addAwsAddress */
  awsPeers: { subnet: '10.254.1.0/24', defaultPeer: '10.254.1.10' },
  /** our docker0-like bridge in host, with the container namespace behind it */
  bridge: {
    name: 's3hbr0',
    subnet: '10.254.2.0/24',
    gateway: '10.254.2.1',
    container: '10.254.2.2',
  },
  /** free ranges for a dockerd started in host (`--bip`, `--default-address-pool`) */
  docker: { bip: '10.254.3.1/24', defaultAddressPool: { base: '10.254.16.0/20', size: 24 } },
  /** interface names, per namespace */
  interfaces: {
    hostToAws: 'veth-aws',
    hostToContainer: 'veth-ctr',
    aws: 'eth0',
    container: 'eth0',
  },
} as const;

export interface ExecInOptions {
  /** replaces the environment, as in child_process; default: this process's */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

export interface Topology {
  /** unique per topology: `s3h-<8 hex>-` */
  prefix: string;
  names: { aws: string; host: string; container: string };
  /** `/run/netns/<name>`, e.g. for `nsenter --net=<path> dockerd …` */
  paths: { aws: string; host: string; container: string };
  imdsAddress: '169.254.169.254';
  /** extra address living in the aws namespace for other peers (S3, STS) */
  awsPeerAddress: string;
  ipPlan: typeof IP_PLAN;
  /** current TTL of the token PUT's answer, or null when no rule is installed */
  readonly hopLimit: number | null;
  /** duration of createTopology, and of close() once it ran */
  readonly timings: { setupMs: number; teardownMs: number | null };
  setHopLimit(n: number): Promise<void>;
  removeHopLimitRule(): Promise<void>;
  /** give the aws namespace another address (routed from host if outside awsPeers.subnet) */
  addAwsAddress(address: string): Promise<void>;
  /** spawn a long-running process inside a namespace */
  spawnIn(ns: Role, cmd: string, args: string[], opts?: SpawnOptions): Promise<SpawnedProcess>;
  /** run to completion inside a namespace; never rejects on a non-zero exit */
  execIn(ns: Role, cmd: string, args: string[], opts?: ExecInOptions): Promise<ExecResult>;
  /** resolves once something listens on address:port (TCP) inside the namespace */
  waitForListen(ns: Role, address: string, port: number, timeoutMs?: number): Promise<void>;
  /** IP/ICMP counters of the host namespace: a dropped TTL shows here */
  counters(): Promise<{ ipInHdrErrors: number; icmpOutTimeExcds: number }>;
  /** stop every process inside, delete the namespaces; idempotent */
  close(): Promise<void>;
}

export interface TopologyOptions {
  /** TTL on the token PUT's answer; default 1 (EC2's default); null: no rule */
  hopLimit?: number | null;
}

const heredoc = (cmd: string, lines: string[]) =>
  `${cmd} <<'S3H_EOF'\n${lines.join('\n')}\nS3H_EOF`;
// One `ip` per namespace and one `iptables-restore` per table set: each
// process costs tens of ms on a loaded 2-core machine.
const ipBatch = (ns: string, lines: string[]) => heredoc(`ip -n ${ns} -b -`, lines);
const restore = (ns: string, lines: string[]) =>
  heredoc(`nsenter --net=/run/netns/${ns} iptables-restore --noflush`, lines);

function hopLimitRules(n: number | null): string[] {
  const lines = ['*mangle', '-F S3H_HOP_MARK', '-F S3H_HOP_TTL'];
  if (n !== null) {
    // Mark the connection on the token PUT, unmark it when a GET/HEAD reuses it
    // (keep-alive), and set the TTL on whatever leaves a marked connection.
    // The handshake precedes the mark: the client connects, then waits.
    const match = (s: string) => `-m string --algo bm --string "${s}"`;
    lines.push(
      `-A S3H_HOP_MARK ${match('PUT /latest/api/token')} -j CONNMARK --set-xmark 0x1/0x1`,
      `-A S3H_HOP_MARK ${match('GET /')} -j CONNMARK --set-xmark 0x0/0x1`,
      `-A S3H_HOP_MARK ${match('HEAD /')} -j CONNMARK --set-xmark 0x0/0x1`,
      `-A S3H_HOP_TTL -m connmark --mark 0x1/0x1 -j TTL --ttl-set ${n}`,
    );
  }
  lines.push('COMMIT');
  return lines;
}

function setupScript(names: Topology['names'], hopLimit: number | null): string {
  const { aws, host, container } = names;
  const p = IP_PLAN;
  const i = p.interfaces;
  const b = p.bridge;
  return [
    'set -e',
    `ip netns add ${aws}`,
    `ip netns add ${host}`,
    `ip netns add ${container}`,
    // Links are created inside the namespaces, so names never collide across runs.
    // host: forwarding, NAT like dockerd, routes to aws only, no default route.
    ipBatch(host, [
      `link add ${i.hostToAws} type veth peer name ${i.aws} netns ${aws}`,
      `link add ${b.name} type bridge`,
      `link add ${i.hostToContainer} type veth peer name ${i.container} netns ${container}`,
      `link set ${i.hostToContainer} master ${b.name}`,
      'link set lo up',
      `addr add ${p.awsLink.hostSide}/30 dev ${i.hostToAws}`,
      `link set ${i.hostToAws} up`,
      `addr add ${b.gateway}/24 dev ${b.name}`,
      `link set ${b.name} up`,
      `link set ${i.hostToContainer} up`,
      `route add ${p.imdsAddress}/32 via ${p.awsLink.awsSide} dev ${i.hostToAws}`,
      `route add ${p.awsPeers.subnet} via ${p.awsLink.awsSide} dev ${i.hostToAws}`,
    ]),
    // aws: IMDS and the peers on the veth (no dummy interface on this kernel).
    ipBatch(aws, [
      'link set lo up',
      `addr add ${p.awsLink.awsSide}/30 dev ${i.aws}`,
      `addr add ${p.imdsAddress}/32 dev ${i.aws}`,
      `addr add ${p.awsPeers.defaultPeer}/32 dev ${i.aws}`,
      `link set ${i.aws} up`,
      `route add default via ${p.awsLink.hostSide}`,
    ]),
    ipBatch(container, [
      'link set lo up',
      `addr add ${b.container}/24 dev ${i.container}`,
      `link set ${i.container} up`,
      `route add default via ${b.gateway}`,
    ]),
    // New namespaces inherit IPv4 sysctls from the root namespace: set explicitly.
    // /proc/sys/net shows the namespace of the process that opens it.
    `nsenter --net=/run/netns/${host} sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'`,
    restore(host, [
      '*nat',
      `-A POSTROUTING -s ${b.subnet} ! -o ${b.name} -j MASQUERADE`,
      'COMMIT',
      // Explicit ACCEPTs survive a dockerd started here later (it sets FORWARD policy DROP).
      '*filter',
      `-A FORWARD -i ${b.name} -j ACCEPT`,
      `-A FORWARD -o ${b.name} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      'COMMIT',
    ]),
    // aws: chains the hop limit rules live in, so they can be replaced as a unit.
    restore(aws, [
      '*mangle',
      ':S3H_HOP_MARK - [0:0]',
      ':S3H_HOP_TTL - [0:0]',
      `-A PREROUTING -d ${p.imdsAddress}/32 -p tcp --dport 80 -j S3H_HOP_MARK`,
      `-A OUTPUT -s ${p.imdsAddress}/32 -p tcp --sport 80 -j S3H_HOP_TTL`,
      'COMMIT',
    ]),
    restore(aws, hopLimitRules(hopLimit)),
  ].join('\n');
}

async function sh(script: string, what: string): Promise<void> {
  const result = await execTracked(['sh', '-c', script], { timeoutMs: 30_000 });
  if (result.code !== 0) {
    throw new Error(`${what} failed (exit ${result.code}): ${result.stderr.trim()}`);
  }
}

function checkHopLimit(n: number | null): void {
  if (n !== null && !(Number.isInteger(n) && n >= 1 && n <= 255)) {
    throw new RangeError(`hop limit must be an integer 1..255 (AWS allows 1..64), got ${n}`);
  }
}

function inSubnet24(address: string, subnet: string): boolean {
  return address.split('.').slice(0, 3).join('.') === subnet.split('.').slice(0, 3).join('.');
}

function parseSnmp(text: string, section: string, field: string): number {
  const lines = text.split('\n').filter((line) => line.startsWith(`${section}: `));
  const header = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const index = header.indexOf(field);
  const value = index < 0 ? undefined : values[index];
  if (value === undefined) throw new Error(`/proc/net/snmp: no ${section} ${field}`);
  return Number(value);
}

/**
 * Build the topology. Throws (with the reason) when the machine cannot, and
 * removes whatever it created if any step fails.
 */
export async function createTopology(opts: TopologyOptions = {}): Promise<Topology> {
  const started = performance.now();
  const availability = netnsAvailable();
  if (!availability.ok) throw new Error(`network namespaces unavailable: ${availability.why}`);
  await reapStaleTopologies();

  const id = randomBytes(4).toString('hex');
  const prefix = `${NAME_PREFIX}${id}-`;
  const names = { aws: `${prefix}aws`, host: `${prefix}host`, container: `${prefix}container` };
  const all = [names.aws, names.host, names.container];
  const spawned = new Set<SpawnedProcess>();
  let hopLimit: number | null = null;
  let setupMs = 0;
  let teardownMs: number | null = null;
  let closing: Promise<void> | undefined;
  let forgetExit = (): void => undefined;

  const argvIn = (ns: Role, cmd: string, args: string[]) => [
    'ip',
    'netns',
    'exec',
    names[ns],
    cmd,
    ...args,
  ];

  const close = (): Promise<void> => {
    closing ??= (async () => {
      const t0 = performance.now();
      await Promise.all([...spawned].map((proc) => proc.kill()));
      await destroyNamespaces(all);
      unregister(id);
      forgetExit();
      teardownMs = performance.now() - t0;
    })();
    return closing;
  };

  const execIn = (ns: Role, cmd: string, args: string[], o: ExecInOptions = {}) =>
    execTracked(argvIn(ns, cmd, args), o);

  const setHopLimit = async (n: number | null) => {
    checkHopLimit(n);
    await sh(restore(names.aws, hopLimitRules(n)), 'hop limit rules');
    hopLimit = n;
  };

  const topology: Topology = {
    prefix,
    names,
    paths: {
      aws: `/run/netns/${names.aws}`,
      host: `/run/netns/${names.host}`,
      container: `/run/netns/${names.container}`,
    },
    imdsAddress: IP_PLAN.imdsAddress,
    awsPeerAddress: IP_PLAN.awsPeers.defaultPeer,
    ipPlan: IP_PLAN,
    get hopLimit() {
      return hopLimit;
    },
    get timings() {
      return { setupMs, teardownMs };
    },
    setHopLimit: (n) => setHopLimit(n),
    removeHopLimitRule: () => setHopLimit(null),
    async addAwsAddress(address) {
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) throw new Error(`not an IPv4: ${address}`);
      const lines = [
        'set -e',
        `ip -n ${names.aws} addr add ${address}/32 dev ${IP_PLAN.interfaces.aws}`,
      ];
      if (!inSubnet24(address, IP_PLAN.awsPeers.subnet)) {
        lines.push(
          `ip -n ${names.host} route add ${address}/32 via ${IP_PLAN.awsLink.awsSide} dev ${IP_PLAN.interfaces.hostToAws}`,
        );
      }
      await sh(lines.join('\n'), `add aws address ${address}`);
    },
    async spawnIn(ns, cmd, args, o = {}) {
      if (closing) throw new Error('topology is closed');
      const proc = spawnTracked(argvIn(ns, cmd, args), o);
      spawned.add(proc);
      void proc.exited.then(() => spawned.delete(proc));
      return proc;
    },
    execIn,
    async waitForListen(ns, address, port, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      // `ss` looks at sockets without connecting, so servers log no probe requests.
      const wanted = [`${address}:${port}`, `0.0.0.0:${port}`, `*:${port}`, `[::]:${port}`];
      for (;;) {
        const result = await execIn(ns, 'ss', ['-Hltn'], { timeoutMs: 5000 });
        const locals = result.stdout.split('\n').map((line) => line.trim().split(/\s+/)[3]);
        if (locals.some((local) => local !== undefined && wanted.includes(local))) return;
        if (Date.now() > deadline) {
          throw new Error(`nothing listens on ${address}:${port} in ${names[ns]}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async counters() {
      const result = await execIn('host', 'cat', ['/proc/net/snmp'], { timeoutMs: 5000 });
      if (result.code !== 0) throw new Error(`reading /proc/net/snmp: ${result.stderr}`);
      return {
        ipInHdrErrors: parseSnmp(result.stdout, 'Ip', 'InHdrErrors'),
        icmpOutTimeExcds: parseSnmp(result.stdout, 'Icmp', 'OutTimeExcds'),
      };
    },
    close,
  };

  register(id, all);
  // Tests that crash past afterAll still leave no namespaces behind.
  forgetExit = onExit(() => {
    for (const proc of spawned) killGroup(proc.pid, 'SIGKILL');
    destroyNamespacesSync(all);
    unregister(id);
  });
  const initialHopLimit = opts.hopLimit === undefined ? 1 : opts.hopLimit;
  try {
    checkHopLimit(initialHopLimit);
    await sh(setupScript(names, initialHopLimit), 'namespace setup');
    hopLimit = initialHopLimit;
  } catch (error) {
    await close();
    throw error;
  }
  setupMs = performance.now() - started;
  return topology;
}
