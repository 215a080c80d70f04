# s3-health: the sidecar image (docs/deploy.md, "The image").
#
# Standard build, from a clean clone on a machine that reaches the npm
# registry (BuildKit, the default builder of Docker 23+ and Compose v2):
#
#   docker build -t s3-health .          # or: docker compose up --build
#
# The builder stage runs `npm ci` and `npm run build` (one bundled file,
# dist/cli.js, with every dependency inside). NPM_CONFIG_REGISTRY points it at
# a mirror; the npm cache is a BuildKit cache mount, so rebuilds download
# nothing twice.
#
# Offline build (CI, whose build containers have no route out; also works with
# the classic builder): the host prepares build/image/ (the bundle, and Node's
# binary for each platform, stripped), the image only copies:
#
#   scripts/prepare-image-context.sh \
#     && docker build --target offline --build-arg NODE_FROM=context -t s3-health .
#
# Both platforms, linux/amd64 and linux/arm64 (Graviton), come from this one
# file: FROM takes the base image for the target platform, TARGETARCH picks
# the prepared Node (`scripts/prepare-image-context.sh linux/amd64,linux/arm64`
# prepares both), and RUN steps for the other architecture run under
# emulation (binfmt + QEMU). With a registry, one name for both:
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/s3-health:TAG --push .
#
# The runtime image is not the base image with files deleted (deleting never
# shrinks the base's layers): it is a root of its own holding Node's binary,
# the shared libraries it links, /usr/bin/env for the `s3-health` shebang, a
# CA bundle, passwd/group, and the bundle. No shell, no npm, corepack or yarn,
# no package manager.

ARG NODE_IMAGE=node:24-bookworm-slim
# The runtime's V8 options: the compile cache is warmed with the same ones.
# The same limits the bin sets for itself when started without (src/heap-limits.ts):
# a capped old space and a 1 MiB young generation keep V8 from letting garbage
# pile up to RSS it never needs, and one V8 worker thread instead of four
# (issue 21: 228 MiB peak uncapped, 107 MiB so; MALLOC_ARENA_MAX below, 103).
ARG RUNTIME_NODE_OPTIONS="--max-old-space-size=48 --max-semi-space-size=1 --v8-pool-size=1"
# Which Node binary the runtime root takes: `base`, the base image's as it ships
# (the official image's is not stripped: 126.6 MB on amd64), or `context`, the
# stripped one for the target platform that scripts/prepare-image-context.sh
# put in build/image/node/ (108.5 MB).
ARG NODE_FROM=base

FROM ${NODE_IMAGE} AS base

# --- Node's binary for the target platform ----------------------------------------
FROM base AS node-from-base
FROM base AS node-from-context
# TARGETARCH where the builder sets it (BuildKit, buildah); the classic builder
# does not, and builds for the machine's own platform: the base image's arch.
ARG TARGETARCH
COPY build/image/node/ /tmp/node/
RUN set -eu; arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    mv "/tmp/node/linux-$arch/node" /usr/local/bin/node; rm -rf /tmp/node

# --- the runtime's root filesystem, taken from the base image -------------------
FROM node-from-${NODE_FROM} AS rootfs
# ldd names the libraries Node and env link, for whatever architecture this is.
# The CA bundle is Node's own root store (Mozilla's) written out as PEM: the
# slim base has none, and a file there lets a derived image or a mount add a
# root (NODE_USE_SYSTEM_CA=1 below). The licences of what is copied go along.
RUN set -eu; r=/rootfs; \
    mkdir -p "$r/usr/local/bin" "$r/usr/bin" "$r/etc/ssl/certs" "$r/app" "$r/tmp"; \
    chmod 1777 "$r/tmp"; \
    cp -a /usr/local/bin/node "$r/usr/local/bin/node"; \
    cp -a /usr/bin/env "$r/usr/bin/env"; \
    for lib in $(ldd /usr/local/bin/node /usr/bin/env | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(0x/ { print $1 }' | sort -u); do \
      cp -L --parents "$lib" "$r/"; \
    done; \
    cp -a --parents /etc/ld.so.cache /etc/nsswitch.conf "$r/"; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000::/home/node:/sbin/nologin\n' > "$r/etc/passwd"; \
    printf 'root:x:0:\nnode:x:1000:\n' > "$r/etc/group"; \
    node -e "process.stdout.write(require('node:tls').rootCertificates.join('\n') + '\n')" \
      > "$r/etc/ssl/certs/ca-certificates.crt"; \
    test "$(grep -c 'BEGIN CERTIFICATE' "$r/etc/ssl/certs/ca-certificates.crt")" -gt 100; \
    for pkg in libc6 libstdc++6 libgcc-s1 coreutils; do \
      if [ -f "/usr/share/doc/$pkg/copyright" ]; then cp -a --parents "/usr/share/doc/$pkg/copyright" "$r/"; fi; \
    done; \
    ln -s /app/dist/cli.js "$r/usr/local/bin/s3-health"; \
    chroot "$r" /usr/local/bin/node -e "process.exit(0)"

# --- the runtime image, without the application yet ------------------------------
FROM scratch AS runtime
COPY --from=rootfs /rootfs/ /
ARG RUNTIME_NODE_OPTIONS
# NODE_USE_SYSTEM_CA=1: Node trusts its own bundled roots plus the system
# bundle, so a root added there (a derived image, or a mounted bundle) is
# trusted without code changes, and NODE_EXTRA_CA_CERTS stays free for a
# proxy's root as the diagnose report suggests.
# NODE_COMPILE_CACHE: V8's compiled code for the bundle, made at build time
# (read-only at run time; bench/startup.ts measures what it saves).
# MALLOC_ARENA_MAX=2: glibc's arenas, two instead of one per thread (as the
# bin sets for itself: src/heap-limits.ts).
ENV PATH=/usr/local/bin:/usr/bin:/bin \
    NODE_ENV=production \
    NODE_USE_SYSTEM_CA=1 \
    MALLOC_ARENA_MAX=2 \
    NODE_OPTIONS="${RUNTIME_NODE_OPTIONS}" \
    NODE_COMPILE_CACHE=/app/compile-cache
WORKDIR /app
# `node` (1000:1000), numeric so Kubernetes' runAsNonRoot can verify it.
# Nothing is written at run time: a read-only root works.
USER 1000:1000
EXPOSE 8080
# `s3-health check`: exit 0 when /healthz answers 200 (pass or warn), no curl.
# Docker runs the first check one interval after start; failures in the start
# period do not count (the sidecar answers 503 until its first cycle ends).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["s3-health", "check"]
# Node is PID 1 and handles SIGTERM itself (stop probing, delete the probe
# object in flight, exit 0); compose adds `init: true` as well, so signals
# arriving before the handlers exist and stray children are handled too.
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["serve"]

# --- offline: the application from the prepared context --------------------------
FROM base AS app-offline
ARG RUNTIME_NODE_OPTIONS
COPY build/image/app/ /app/
# COPY made root the owner; modes are normalised (a build machine's umask may
# leave files group-writable), so the runtime user reads but never changes
# its code. The --help run compiles the whole bundle once, into the cache, as
# the runtime user: Node keys the cache by uid (and version and V8 options).
RUN chmod -R u=rwX,go=rX /app && chmod 0755 /app/dist/cli.js \
 && mkdir /app/compile-cache && chown 1000:1000 /app/compile-cache
USER 1000:1000
RUN NODE_OPTIONS="$RUNTIME_NODE_OPTIONS" NODE_COMPILE_CACHE=/app/compile-cache \
    node /app/dist/cli.js --help >/dev/null
USER 0:0
RUN chown -R 0:0 /app/compile-cache && chmod -R u=rwX,go=rX /app/compile-cache

FROM runtime AS offline
COPY --from=app-offline /app /app

# --- standard: npm ci and the build in a builder stage ----------------------------
FROM base AS build
ARG NPM_CONFIG_REGISTRY
# Set to true to install from the npm cache alone (it must hold every package).
ARG NPM_CONFIG_OFFLINE
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: the build needs none (esbuild's binary is an optional
# dependency), and no dependency's script runs in the build.
RUN --mount=type=cache,id=s3-health-npm,target=/root/.npm,sharing=locked \
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn
COPY tsconfig.json ./
COPY scripts/build.ts scripts/
COPY src/ src/
RUN npm run build --silent \
 && mkdir -p /app && cp -R dist package.json /app/

FROM base AS app-standard
ARG RUNTIME_NODE_OPTIONS
COPY --from=build /app/ /app/
# As in app-offline.
RUN chmod -R u=rwX,go=rX /app && chmod 0755 /app/dist/cli.js \
 && mkdir /app/compile-cache && chown 1000:1000 /app/compile-cache
USER 1000:1000
RUN NODE_OPTIONS="$RUNTIME_NODE_OPTIONS" NODE_COMPILE_CACHE=/app/compile-cache \
    node /app/dist/cli.js --help >/dev/null
USER 0:0
RUN chown -R 0:0 /app/compile-cache && chmod -R u=rwX,go=rX /app/compile-cache

# The default target (last stage): `docker build .`
FROM runtime AS standard
COPY --from=app-standard /app /app
