# The production image of codat-cutover (docker-compose.yml builds it too). Four stages, so that the image that runs
# holds no compiler, no TypeScript and no dev dependency:
#   toolchain  node + what better-sqlite3 needs to compile itself when no prebuilt binary fits (python3, make, g++)
#   build      all dependencies (dev included), `npm run build` compiles src/ into dist/
#   deps       production dependencies only (`npm ci --omit=dev`), better-sqlite3's native module built here
#   runtime    node, dist/, the production node_modules and flags/ (the bootstrap), run as the unprivileged `node`
#
# No Docker engine in CI: test/ops/check-dockerfile.py checks this file's structure, and `npm run image:rehearsal`
# (scripts/image-rehearsal.sh) performs the deps and runtime stages natively and starts the service as nobody.
FROM node:20-slim AS toolchain
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app

FROM toolchain AS build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM toolchain AS deps
COPY package.json package-lock.json ./
# --ignore-scripts=false: better-sqlite3's install script fetches or compiles its native module.
RUN npm ci --omit=dev --ignore-scripts=false --no-audit --no-fund

FROM node:20-slim AS runtime
ENV NODE_ENV=production
ENV DATA_DIR=/data
WORKDIR /app
# Owned by root and read-only to the service: it can write only to DATA_DIR.
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY flags ./flags
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
# Liveness, not readiness: /healthz answers while the process serves HTTP; /readyz also pings the store and says 503
# while PostgreSQL is away, and restarting the service would not bring PostgreSQL back (route traffic on /readyz).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The compiled service with plain node, as `npm start` runs it after building.
CMD ["node", "dist/main.js"]
