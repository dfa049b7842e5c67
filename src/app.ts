// createApp(deps) -> the Express app, never listening (src/main.ts listens; tests listen on
// port 0). Middleware order, outermost first:
//   request id + log, metrics, [public] /healthz /readyz /metrics /openapi.json,
//   /v1: verify token -> rate limit (per sub, else per IP) -> require a caller -> JSON body
//        (limit BODY_LIMIT_BYTES) -> token routes -> extension routers (snapshots, ...),
//   404, the one error middleware.
// Extensions (the snapshot routes and whatever comes later) plug in through `extensions`
// without touching this file or the token routes.
import express, { Router, type Express, type RequestHandler } from 'express';
import type { Config } from './config.ts';
import type { Ledger } from './ledger/client.ts';
import type { Logger } from './logger.ts';
import type { RedisConnection } from './redis.ts';
import { createAuth, type Auth } from './http/auth.ts';
import { errorMiddleware, HttpError, notFound } from './http/errors.ts';
import { createHealthRouter, type ReadinessCheck } from './http/health.ts';
import { createMetrics, type Metrics } from './http/metrics.ts';
import { openApiDocument, type OpenApiAddition } from './http/openapi.ts';
import { createRateLimit } from './http/rate-limit.ts';
import { requestLog } from './http/request-log.ts';
import { createTokensRouter } from './http/tokens.ts';

/** What another part of Tally adds to the HTTP API. */
export interface AppExtension {
  name: string;
  /**
   * Mounted under /v1 after authentication, rate limiting and JSON body parsing; paths are
   * relative to /v1 (e.g. router.post('/snapshots', ...)). res.locals.caller holds the caller
   * (see callerOf / requireAdmin / requireSelfOrAdmin in src/http/auth.ts). Expected failures:
   * throw a TallyError (src/errors.ts: HttpError, LedgerError, SnapshotError, ...) whose code is
   * in the one catalog; the error middleware answers it with that code's status.
   */
  router?: Router;
  /** Paths and schemas merged into /openapi.json. */
  openapi?: OpenApiAddition;
  /** Added to /readyz (e.g. { store: ..., ipfs: ... }). */
  readinessChecks?: Record<string, ReadinessCheck>;
}

export interface AppDeps {
  ledger: Ledger;
  redis: RedisConnection;
  config: Pick<Config, 'http' | 'jwt'>;
  logger: Logger;
  /** Built from config.jwt when absent. */
  auth?: Auth;
  /** A fresh registry when absent (one per app, so tests can build many apps). */
  metrics?: Metrics;
  extensions?: AppExtension[];
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
  const extensions = deps.extensions ?? [];
  const metrics = deps.metrics ?? createMetrics();
  const auth = deps.auth ?? createAuth(config.jwt);
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

  const readinessChecks = Object.assign({}, ...extensions.map((e) => e.readinessChecks ?? {})) as Record<string, ReadinessCheck>;
  app.use(createHealthRouter({ redis: deps.redis, ledger: deps.ledger, readinessChecks, ...(deps.isShuttingDown ? { isShuttingDown: deps.isShuttingDown } : {}) }));
  app.get('/metrics', metrics.handler);
  const openapi = openApiDocument(extensions.flatMap((e) => (e.openapi ? [e.openapi] : [])));
  app.get('/openapi.json', (_req, res) => { res.json(openapi); });

  const v1 = Router();
  v1.use((req, res, next) => { res.locals.routeBase = req.baseUrl; next(); });
  v1.use(auth.identify);
  v1.use(createRateLimit({ redis: deps.redis, limitPerMinute: config.http.rateLimitPerMinute, ...(deps.rateLimitPrefix ? { prefix: deps.rateLimitPrefix } : {}) }));
  v1.use(auth.requireCaller);
  v1.use(requireJsonBody);
  v1.use(express.json({ limit: config.http.bodyLimitBytes, strict: true }));
  v1.use(createTokensRouter({ ledger: deps.ledger }).router);
  for (const extension of extensions) if (extension.router) v1.use(extension.router);
  app.use('/v1', v1);

  app.use(notFound);
  app.use(errorMiddleware({ logger, onError: metrics.recordError }));
  return app;
}
