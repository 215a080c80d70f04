#!/usr/bin/env bash
# Installs the real peers the tests and the demo run against, from Debian's
# packages: radosgw (S3), promtool (Prometheus), docker + compose + debootstrap
# (container tier), iproute2 + iptables (network namespaces). Idempotent.
set -euo pipefail
need=()
command -v radosgw >/dev/null || need+=(radosgw ceph-mon ceph-osd)
command -v promtool >/dev/null || need+=(prometheus)
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
fi
if [ ${#need[@]} -eq 0 ]; then
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
echo "[install-peers] done"
