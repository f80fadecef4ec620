# syntax=docker/dockerfile:1.7
#
# ragswap container image.
#
# Base image: the official Node.js image, Debian 12 "bookworm", slim variant, pinned to the exact
# Node.js release that development and CI use (22.23.3; package.json asks for >=22.12). The tag is
# pinned rather than the digest so that Debian security rebuilds of the same Node release are picked
# up by a rebuild; pin `node:22.23.3-bookworm-slim@sha256:...` as well where reproducible builds
# matter more than that (Renovate can keep such a digest current).
#
# PID 1: tini (Debian's package) runs as PID 1 and starts node as its child. Node as PID 1 gets no
# default signal dispositions from the kernel and does not reap orphaned children; tini forwards
# SIGTERM/SIGINT to node and reaps zombies. ragswap itself handles SIGTERM (stop watching, stop
# accepting, drain in-flight queries, exit 0) and tini exits with node's exit code.
#
# Read-only root filesystem: the app runs as uid/gid 10001, owns nothing under /app, and writes only
# to RAGSWAP_DATA_DIR (/data) and TMPDIR (/tmp): mount writable volumes there (the Helm chart mounts
# emptyDirs) and run with --read-only.
#
# Build: docker build --build-arg VERSION=$(git describe --tags) --build-arg REVISION=$(git rev-parse HEAD) -t ragswap .

ARG NODE_VERSION=22.23.3
ARG DEBIAN_RELEASE=bookworm

# ---- build: compile TypeScript (and, later, the admin UI) into dist/ --------------------------
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: nothing the build needs runs one, and skipping them keeps arbitrary package
# code out of the build.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies, compiled output, demo documents ------------------------
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS runtime

ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=unknown
ARG NODE_VERSION
ARG DEBIAN_RELEASE
LABEL org.opencontainers.image.title="ragswap" \
      org.opencontainers.image.description="Multi-tenant RAG engine: tenant configs in Consul KV, knowledge bases in S3, per-tenant indexes hot-swapped without failed queries." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/ragswap/ragswap" \
      org.opencontainers.image.url="https://github.com/ragswap/ragswap" \
      org.opencontainers.image.documentation="https://github.com/ragswap/ragswap/blob/main/docs/deploy.md" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="ragswap" \
      org.opencontainers.image.base.name="docker.io/library/node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim"

RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 10001 ragswap \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ragswap \
 && mkdir -p /data \
 && chown 10001:10001 /data

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    RAGSWAP_DATA_DIR=/data \
    TMPDIR=/tmp \
    HOME=/tmp

WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY examples ./examples

USER 10001:10001
EXPOSE 8080
# For docker/compose; Kubernetes ignores HEALTHCHECK and uses the chart's probes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
