# s3-health: the sidecar image (docs/deploy.md).
#
# Build context: the repository root after scripts/prepare-image-context.sh,
# which compiles the code, installs the production dependencies and downloads
# the CA certificate packages into build/image/ (.dockerignore sends nothing
# else). No RUN step needs the network, so the same Dockerfile builds with or
# without a registry or a route out, with BuildKit or the classic builder:
#
#   scripts/prepare-image-context.sh && docker build -t s3-health .

ARG NODE_IMAGE=node:24-bookworm-slim

# --- stage 1: assemble /app and the CA bundle ---------------------------------
FROM ${NODE_IMAGE} AS assemble

# The official slim image has no CA store (Node carries its own). Debian's
# ca-certificates gives the usual bundle, which corporate roots can extend.
COPY build/image/debs/ /tmp/debs/
RUN DEBIAN_FRONTEND=noninteractive dpkg --force-unsafe-io -i /tmp/debs/*.deb \
 && test -s /etc/ssl/certs/ca-certificates.crt

COPY build/image/app/ /app/
# Types, source maps and docs are never loaded at run time. COPY made root
# the owner; the modes are normalised (a build machine's umask may leave
# files group-writable), so the runtime user can read but never change its
# own code, even where the root filesystem is writable.
RUN find /app/node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
      -o -name '*.map' -o -name '*.md' -o -name '*.markdown' \) ! -iname 'license*' -delete \
 && rm -f /app/package-lock.json \
 && chmod -R u=rwX,go=rX /app \
 && chmod 0755 /app/dist/cli.js \
 && node /app/dist/cli.js --help >/dev/null

# --- stage 2: the runtime image ------------------------------------------------
FROM ${NODE_IMAGE}

COPY --from=assemble /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=assemble /app /app
RUN ln -s /app/dist/cli.js /usr/local/bin/s3-health

# NODE_USE_SYSTEM_CA=1: Node trusts its own bundled roots plus the system
# bundle above, so a root added there (a derived image, or a mounted bundle) is
# trusted without code changes, and NODE_EXTRA_CA_CERTS stays free for a
# proxy's root as the diagnose report suggests.
# The heap cap keeps V8 from letting garbage pile up to RSS it never needs
# (bench/: ~21 MiB retained after full GC; uncapped RSS reached 2.7x baseline
# over 1,000 fast cycles, 1.3x with a cap).
ENV NODE_ENV=production \
    NODE_USE_SYSTEM_CA=1 \
    NODE_OPTIONS=--max-old-space-size=64

WORKDIR /app
# `node` (1000:1000) of the base image, numeric so Kubernetes' runAsNonRoot
# can verify it. Nothing is written at run time: a read-only root works.
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
