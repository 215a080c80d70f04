#!/usr/bin/env bash
# Prepares the context of the offline image build, in build/image/, on the
# machine that runs `docker build --target offline`: no RUN step of that
# target needs the network, so it builds where the build containers have no
# route out (CI here), with BuildKit or the classic builder. The standard
# build (`docker build .`) needs none of this: it runs npm ci itself.
# See docs/deploy.md, "Building".
#
#   build/image/app/   dist/cli.js (the bundle), dist/licenses.txt, package.json
#
# Needs: the project's dev dependencies (`npm ci`).
#
#   scripts/prepare-image-context.sh && docker build --target offline -t s3-health .
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=build/image
say() { echo "[prepare-image-context] $*"; }

rm -rf "$OUT"
mkdir -p "$OUT/app"
say "bundling (npm run build)"
npm run build --silent
cp -R dist package.json "$OUT/app/"
say "ready: $(du -sh "$OUT/app" | cut -f1) in $OUT/app"
