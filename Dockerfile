# The Stepwise image: the `stepwise` CLI on Node 20, run as a non-root user under tini (PID 1 forwards SIGTERM, so
# a worker drains, and reaps the children of multiprocess runs). Users copy their pipeline code on top:
#
#   FROM ghcr.io/stepwise/stepwise:0.0.0
#   COPY --chown=node:node pipelines/ /app/pipelines/
#
# Build: docker build -t stepwise:dev .   (see docs/deploy/docker.md)
ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
# better-sqlite3 compiles from source when its prebuilt binary cannot be downloaded.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages/ packages/
# `npm ci` builds every package (the root `prepare` runs tsc -b); then the dev tools go.
RUN npm ci --no-audit --no-fund \
  && npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf packages/*/src packages/*/test packages/*/tsconfig.json /root/.npm

FROM ${NODE_IMAGE}
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    STEPWISE_HOME=/var/lib/stepwise
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/packages/ packages/
RUN ln -s /app/packages/core/bin/stepwise.js /usr/local/bin/stepwise \
  && mkdir -p /app/pipelines /var/lib/stepwise \
  && chown node:node /app/pipelines /var/lib/stepwise
# The node image's unprivileged user (uid 1000, the chart's runAsUser).
USER node
ENTRYPOINT ["/usr/bin/tini", "--", "stepwise"]
CMD ["--help"]
