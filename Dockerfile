# Tally API (+ worker) on Node 24, which runs the TypeScript sources directly (type stripping):
# there is no build step. Production dependencies only.
FROM node:24-bookworm-slim

ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    DATA_DIR=/data

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY redis-functions ./redis-functions

RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# node itself is PID 1's child (compose sets init: true): SIGTERM from `docker stop` reaches
# it directly and triggers the graceful stop (SHUTDOWN_TIMEOUT_MS, keep it below stop_grace_period).
CMD ["node", "src/main.ts"]
