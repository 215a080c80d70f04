#!/usr/bin/env bash
# Installs the real peers the tests and the demo run against, from Debian's
# packages: radosgw (S3), promtool (Prometheus), docker + compose + debootstrap
# (container tier), buildah + QEMU (multi-arch tier), iproute2 + iptables
# (network namespaces). Idempotent.
set -euo pipefail
need=()
command -v radosgw >/dev/null || need+=(radosgw ceph-mon ceph-osd)
command -v promtool >/dev/null || need+=(prometheus)
# The fleet tier: a real Prometheus server and Alertmanager (amtool comes with it).
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
# The status page is checked in a real browser (driven by playwright-core, no browser download).
command -v chromium >/dev/null || need+=(chromium)
# The proxy tier: a real forward proxy (squid) on loopback, with an allow-list and auth.
[ -x /usr/sbin/squid ] || need+=(squid)
command -v ip >/dev/null || need+=(iproute2)
command -v iptables >/dev/null || need+=(iptables)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
# libfaketime: the reliability tier skews the sidecar's clock for real (RequestTimeTooSkewed).
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || need+=(faketime)
if [ "${S3H_WITH_DOCKER:-1}" = 1 ]; then
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v docker-compose >/dev/null || need+=(docker-compose)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  # The multi-arch tier (issue 19): buildah builds both platforms and writes the
  # image index, skopeo reads and copies it as a push would; QEMU runs arm64
  # under binfmt; each platform's Node is stripped with that platform's strip.
  command -v buildah >/dev/null || need+=(buildah)
  command -v skopeo >/dev/null || need+=(skopeo)
  [ -x /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
  command -v update-binfmts >/dev/null || need+=(binfmt-support)
  command -v aarch64-linux-gnu-strip >/dev/null || need+=(binutils-aarch64-linux-gnu)
  command -v x86_64-linux-gnu-strip >/dev/null || need+=(binutils-x86-64-linux-gnu)
fi
# The pasteability tier runs every printed `aws …` fix through the real AWS CLI
# against moto's server. The machine's Python ships both; a Python without them
# gets a venv under /var/cache/s3-health (outside the clone, so it is reused).
s3h_python_ok() { "$1" -c 'import moto, awscli, flask' >/dev/null 2>&1; }
install_python_peers() {
  for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null && s3h_python_ok "$py"; then return 0; fi
  done
  venv=/var/cache/s3-health/venv
  if [ -x "$venv/bin/python" ] && s3h_python_ok "$venv/bin/python"; then return 0; fi
  echo "[install-peers] moto/awscli missing: creating $venv"
  mkdir -p /var/cache/s3-health
  /usr/bin/python3 -m venv "$venv"
  # The versions test/pasteable/world.ts (PINNED) made its list of operations
  # moto cannot run against; the pasteable tier fails on any other.
  "$venv/bin/pip" install -q 'moto[server]==5.2.1' 'awscli==1.45.11'
}
if [ ${#need[@]} -eq 0 ]; then
  install_python_peers
  echo "[install-peers] all present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "[install-peers] need root to apt-get install: ${need[*]}" >&2
  exit 1
fi
echo "[install-peers] apt-get install ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts squid as a system service on install: the tests start their own.
if printf '%s\n' "${need[@]}" | grep -qx squid; then
  service squid stop >/dev/null 2>&1 || true
fi
install_python_peers
echo "[install-peers] done"
