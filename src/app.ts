// createApp(deps) -> the Express app, never listening (src/main.ts listens; tests listen on
// port 0). Middleware order, outermost first:
//   request id + log, metrics, [public] /healthz /readyz /metrics /openapi.json,
//   [public] the dashboard (/, /dashboard/*; its dev-token route only with DASHBOARD_DEV_TOKENS),
//   /v1: verify token -> rate limit (per sub, else per IP) -> require a caller -> JSON body
//        (limit BODY_LIMIT_BYTES) -> token routes -> airdrop and snapshot routes (when their services are given),
//   404, the one error middleware.
import express, { Router, type Express, type RequestHandler } from 'express';
import type { JwtVerifier } from './auth/jwt.ts';
import type { Config } from './config.ts';
import type { Ledger } from './ledger/client.ts';
import type { Logger } from './logger.ts';
import type { RedisConnection } from './connections.ts';
import { createAuth, type Auth } from './http/auth.ts';
import { createDashboardRouter } from './http/dashboard.ts';
import { errorMiddleware, HttpError, notFound } from './http/errors.ts';
import { createHealthRouter, type ReadinessCheck } from './http/health.ts';
import { createMetrics, type Metrics } from './http/metrics.ts';
import { openApiDocument } from './http/openapi.ts';
import { createRateLimit } from './http/rate-limit.ts';
import { requestLog } from './http/request-log.ts';
import { createSnapshotsRouter, snapshotsOpenApi } from './http/snapshots.ts';
import { airdropsOpenApi, createAirdropsRouter } from './http/airdrops.ts';
import type { AirdropService } from './airdrops/service.ts';
import { createTokensRouter } from './http/tokens.ts';
import { archiveOf, createAsOf, historyReplayEntriesMaxDefault, serviceCheckpoints } from './http/ledger-history.ts';
import type { SnapshotService } from './snapshots/service.ts';

export interface AppDeps {
  ledger: Ledger;
  redis: RedisConnection;
  /** `jwt.devTokens` (DASHBOARD_DEV_TOKENS) adds the dashboard's dev-token route, signed with `jwt.secret`. */
  config: Pick<Config, 'http' | 'jwt'> & Partial<Pick<Config, 'history'>>;
  logger: Logger;
  /** The one JWT verifier (src/auth/jwt.ts); REST authentication is built on it. */
  verifier: JwtVerifier;
  /** Serves the snapshot routes (/v1/snapshots, /v1/snapshot-schedules) when given. */
  snapshots?: SnapshotService;
  /** Serves the airdrop routes (/v1/tokens/:sym/airdrops) when given. */
  airdrops?: AirdropService;
  /** Added to /readyz (e.g. { store: ..., jobs: ... }). */
  readinessChecks?: Record<string, ReadinessCheck>;
  /** A fresh registry when absent (one per app, so tests can build many apps). */
  metrics?: Metrics;
  /** True once a graceful shutdown began: /readyz answers 503 and responses close keep-alive connections. */
  isShuttingDown?: () => boolean;
  /** Redis key prefix of the rate-limit counters. */
  rateLimitPrefix?: string;
}

/** Bodies must be JSON; a bodiless request is left to the route's schema. */
const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (req.get('content-length') === '0') return next();
  if (req.is('application/json') === false) return next(new HttpError('UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json'));
  next();
};

export function createApp(deps: AppDeps): Express {
  const { config, logger } = deps;
  const metrics = deps.metrics ?? createMetrics();
  const auth: Auth = createAuth(deps.verifier);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.http.trustProxyHops);

  app.use(requestLog(logger));
  app.use(metrics.middleware);
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    if (deps.isShuttingDown?.()) res.setHeader('Connection', 'close');
    next();
  });

  app.use(createHealthRouter({ redis: deps.redis, ledger: deps.ledger, readinessChecks: deps.readinessChecks ?? {}, ...(deps.isShuttingDown ? { isShuttingDown: deps.isShuttingDown } : {}) }));
  app.get('/metrics', metrics.handler);
  const openapi = openApiDocument([...(deps.snapshots ? [snapshotsOpenApi] : []), ...(deps.airdrops ? [airdropsOpenApi] : [])]);
  app.get('/openapi.json', (_req, res) => { res.json(openapi); });
  app.use(createDashboardRouter(config.jwt.devTokens ? { devTokens: config.jwt } : {}));

  const v1 = Router();
  v1.use((req, res, next) => { res.locals.routeBase = req.baseUrl; next(); });
  v1.use(auth.identify);
  v1.use(createRateLimit({ redis: deps.redis, limitPerMinute: config.http.rateLimitPerMinute, ...(deps.rateLimitPrefix ? { prefix: deps.rateLimitPrefix } : {}) }));
  v1.use(auth.requireCaller);
  v1.use(requireJsonBody);
  v1.use(express.json({ limit: config.http.bodyLimitBytes, strict: true }));
  const asOf = createAsOf({ ledger: deps.ledger, entriesMax: config.history?.replayEntriesMax ?? historyReplayEntriesMaxDefault, ...(deps.snapshots ? { checkpoints: serviceCheckpoints(deps.snapshots) } : {}) });
  v1.use(createTokensRouter({ ledger: deps.ledger, asOf, ...(deps.snapshots ? { archive: archiveOf(deps.snapshots) } : {}) }).router);
  if (deps.airdrops) v1.use(createAirdropsRouter(deps.airdrops).router);
  if (deps.snapshots) v1.use(createSnapshotsRouter(deps.snapshots).router);
  app.use('/v1', v1);

  app.use(notFound);
  app.use(errorMiddleware({ logger, onError: metrics.recordError }));
  return app;
}
