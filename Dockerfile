# syntax=docker/dockerfile:1
# One image for all six Pulse services. The service is chosen at run time:
#   docker run -e PULSE_SERVICE=review pulse            (or: docker run pulse review)
# Targets:
#   production (default, last stage)  compiled JS on Node 24, production dependencies only, non-root
#   dev                               `tsx watch` on the TypeScript sources, for `tilt up` live updates
# Build:  docker build -t pulse .                   docker build --target dev -t pulse:dev .

ARG NODE_IMAGE=node:24-bookworm-slim

# ---------------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS base
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
WORKDIR /app
# The entrypoint: validates the service name, names the service for OpenTelemetry, and runs it either compiled
# (production) or under `tsx watch` (dev, PULSE_WATCH=1). The telemetry module is loaded with --import, before
# the service's own modules, so auto-instrumentation can patch them.
COPY --chmod=0755 <<'EOF' /usr/local/bin/pulse-service
#!/bin/sh
set -eu
service="${1:-${PULSE_SERVICE:-}}"
case "$service" in
  ingestion|sentiment|review|preference|notification|status|all-in-one) ;;
  *)
    echo "pulse-service: set PULSE_SERVICE (or pass an argument) to one of: ingestion sentiment review preference notification status all-in-one (got \"$service\")" >&2
    exit 64
    ;;
esac
export PULSE_SERVICE="$service"
export OTEL_SERVICE_NAME="${OTEL_SERVICE_NAME:-pulse-$service}"
if [ "${PULSE_WATCH:-0}" = "1" ]; then
  exec ./node_modules/.bin/tsx watch --clear-screen=false --import ./services/platform/telemetry-register.ts "services/$service/main.ts"
fi
exec node --enable-source-maps --import ./dist/services/platform/telemetry-register.js "dist/services/$service/main.js"
EOF
ENTRYPOINT ["pulse-service"]

# ---------------------------------------------------------------------------------------------------------------
# All dependencies (build tools, tsx): for the build and dev stages.
FROM base AS deps
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci

# Production dependencies only.
FROM base AS prod-deps
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev

# ---------------------------------------------------------------------------------------------------------------
# TypeScript -> dist/ (services and the generated contracts in gen/; tests excluded by tsconfig.build.json).
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY gen ./gen
COPY services ./services
RUN node_modules/.bin/tsc -p tsconfig.build.json

# ---------------------------------------------------------------------------------------------------------------
# Development: sources run by `tsx watch`; Tilt's live_update syncs ./services and ./gen into /app, and tsx restarts
# the service. Files belong to the unprivileged `node` user (uid 1000) so the sync can write them.
FROM base AS dev
ENV NODE_ENV=development \
    PULSE_WATCH=1
RUN chown node:node /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json package-lock.json tsconfig.json ./
COPY --chown=node:node gen ./gen
COPY --chown=node:node services ./services
USER node
EXPOSE 8081 8082 8083 8084 8085 8086

# ---------------------------------------------------------------------------------------------------------------
# Production: compiled JS (dist/, which includes the compiled gen/) and production dependencies, owned by root and
# read-only to the process, which runs as the unprivileged `node` user. Health checks are set by compose (/readyz)
# and Kubernetes (readiness /readyz, liveness /healthz), since the port depends on the service.
FROM base AS production
ENV NODE_ENV=production
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8081 8082 8083 8084 8085 8086
