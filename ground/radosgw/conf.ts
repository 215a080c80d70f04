// ceph.conf for a throw-away single-node cluster (one mon, one memstore OSD,
// one radosgw) living entirely in one directory. Each setting below was
// needed for a start-up of a few seconds on loopback; see
// the README's Testing section (radosgw on loopback).

export interface CephLayout {
  /** Root of all state, logs and sockets. */
  dir: string;
  fsid: string;
  monV1Port: number;
  monV2Port: number;
  rgwPort: number;
  /** HTTPS, on 127.0.0.1 and 127.0.0.2 (an address NO_PROXY=…,127.0.0.1 does not exempt). */
  rgwTlsPort?: number;
  /** certificate, chain and key in one PEM file */
  tlsCombined?: string;
  /** Exactly 16 characters: rgw uses it as an AES-128 key for session tokens. */
  stsKey: string;
  /** Key id → base64 of 32 bytes, served by rgw's `testing` KMS backend. */
  kmsKeys: Readonly<Record<string, string>>;
  /** Extra `[client.rgw.a]` settings, appended last so they win. */
  rgwExtra?: Readonly<Record<string, string>>;
}

/** Pools rgw would otherwise create one paxos round at a time while starting. */
export const RGW_POOLS: readonly string[] = [
  '.rgw.root',
  'default.rgw.log',
  'default.rgw.control',
  'default.rgw.meta',
  'default.rgw.buckets.index',
  'default.rgw.buckets.data',
  'default.rgw.buckets.non-ec',
];

export const RGW_NAME = 'client.rgw.a';
export const MON_ID = 'a';
export const OSD_ID = 0;

export function monAddrs(l: Pick<CephLayout, 'monV1Port' | 'monV2Port'>): string {
  return `[v2:127.0.0.1:${l.monV2Port},v1:127.0.0.1:${l.monV1Port}]`;
}

export function cephConf(l: CephLayout): string {
  if (l.stsKey.length !== 16) throw new Error('rgw sts key must be exactly 16 characters');
  const d = l.dir;
  const kms = Object.entries(l.kmsKeys)
    .map(([id, key]) => `${id}=${key}`)
    .join(' ');
  const tls =
    l.rgwTlsPort === undefined || l.tlsCombined === undefined
      ? ''
      : ` ssl_endpoint=127.0.0.1:${l.rgwTlsPort} ssl_endpoint=127.0.0.2:${l.rgwTlsPort} ssl_certificate=${l.tlsCombined}`;
  const extra = Object.entries(l.rgwExtra ?? {})
    .map(([k, v]) => `${k} = ${v}\n`)
    .join('');
  return `[global]
fsid = ${l.fsid}
mon host = ${monAddrs(l)}
public addr = 127.0.0.1
cluster addr = 127.0.0.1
# cephx off inside the cluster; S3 SigV4 is checked by rgw on its own.
auth cluster required = none
auth service required = none
auth client required = none
# rgw defaults to 'secure', which needs cephx: it would hang on -13.
ms mon client mode = crc
# Keep every path inside the directory so several clusters can coexist and
# nothing lands in /var/log/ceph or /var/run/ceph.
run dir = ${d}/run
admin socket = ${d}/run/$name.asok
pid file = ${d}/run/$name.pid
log file = ${d}/log/$name.log
mon cluster log file = ${d}/log/cluster.log
crash dir = ${d}/crash
keyring = ${d}/keyring
mon data = ${d}/mon
osd data = ${d}/osd
rgw data = ${d}/rgw
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd objectstore = memstore
memstore device bytes = 1073741824
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
# Default paxos pacing adds ~1-2 s to the first CreateBucket/PutObject.
paxos propose interval = 0.05
paxos min wait = 0.01

[client]
# A client that maps an op before the OSD is up waits one objecter tick
# (default 5 s) before asking for a newer osdmap: rgw then starts 5 s late.
objecter tick interval = 0.2

[${RGW_NAME}]
# Without tcp_nodelay beast's separate header/body writes meet the client's
# delayed ACK: every GET takes ~45 ms instead of ~5 ms.
rgw frontends = beast endpoint=127.0.0.1:${l.rgwPort}${tls} tcp_nodelay=1
rgw thread pool size = 64
rgw crypt require ssl = false
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = ${kms}
rgw s3 auth use sts = true
rgw sts key = ${l.stsKey}
${extra}`;
}
