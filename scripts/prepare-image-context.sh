#!/usr/bin/env bash
# Prepares what the Dockerfile copies, in build/image/, on the machine that
# runs `docker build`. The Dockerfile's RUN steps then need no network at all,
# so one Dockerfile builds the same way on a laptop, on an EC2 host and in CI
# (whose docker engine has no route out). See docs/deploy.md, "Building".
#
#   build/image/app/   dist/ (compiled), package.json, package-lock.json and the
#                      production dependencies (`npm ci --omit=dev`)
#   build/image/debs/  Debian bookworm's ca-certificates and what it needs to
#                      install (openssl, libssl3), for the CA bundle
#
# Needs: the project's dev dependencies (`npm ci`), and for the .debs either
# Debian bookworm's apt-get on this machine or a docker engine that can pull
# node:24-bookworm-slim and reach deb.debian.org.
#
#   scripts/prepare-image-context.sh            # then: docker build -t s3-health .
#   S3H_DEBS_FROM=docker scripts/prepare-...    # force the .debs through docker
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=build/image
BASE_IMAGE=${S3H_BASE_IMAGE:-node:24-bookworm-slim}
DEBS=(ca-certificates openssl libssl3)

say() { echo "[prepare-image-context] $*"; }

host_is_bookworm() {
  command -v apt-get >/dev/null && grep -qs '^VERSION_CODENAME=bookworm$' /etc/os-release
}

# apt-get download as root warns that the _apt sandbox user cannot write here; harmless.
debs_from_host() {
  if ! (cd "$OUT/debs" && apt-get download -q "${DEBS[@]}" 2>/dev/null); then
    # Stale package lists name versions the mirror no longer has.
    if [ "$(id -u)" = 0 ]; then
      say "apt-get download failed; refreshing the package lists"
      apt-get update -qq
      (cd "$OUT/debs" && apt-get download -q "${DEBS[@]}")
    else
      say "apt-get download failed; run 'apt-get update' as root, or use S3H_DEBS_FROM=docker" >&2
      return 1
    fi
  fi
}

# The base image's own apt, so the packages match its release and architecture.
debs_from_docker() {
  docker run --rm --user 0:0 -v "$PWD/$OUT/debs:/out" -w /out "$BASE_IMAGE" \
    sh -c "apt-get update -qq && apt-get download -q ${DEBS[*]} && chown $(id -u):$(id -g) /out/*.deb"
}

rm -rf "$OUT"
mkdir -p "$OUT/app" "$OUT/debs"

say "compiling (npm run build)"
npm run build --silent
cp -R dist package.json package-lock.json "$OUT/app/"

say "production dependencies (npm ci --omit=dev)"
# No install scripts: the runtime dependencies are plain JavaScript.
(cd "$OUT/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error)

case "${S3H_DEBS_FROM:-auto}" in
  host) debs_from_host ;;
  docker) debs_from_docker ;;
  auto) if host_is_bookworm; then debs_from_host; else debs_from_docker; fi ;;
  *) say "S3H_DEBS_FROM must be host, docker or auto" >&2; exit 2 ;;
esac
for pkg in "${DEBS[@]}"; do
  ls "$OUT/debs/${pkg}"_*.deb >/dev/null 2>&1 || { say "missing ${pkg}_*.deb in $OUT/debs" >&2; exit 1; }
done

say "ready: $(du -sh "$OUT/app" | cut -f1) app, $(ls "$OUT/debs" | tr '\n' ' ')"
