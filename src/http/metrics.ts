// Prometheus metrics (prom-client) on a registry owned by one app, served at GET /metrics:
// request counts and latency by method, route pattern and status; error responses by code;
// ledger errors by code; plus the process defaults.
import type { Request, RequestHandler, Response } from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { LedgerError } from '../ledger/errors.ts';

const latencyBucketsSeconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface Metrics {
  registry: Registry;
  /** Times every request; mount first. */
  middleware: RequestHandler;
  /** Counts an error response (the error middleware calls it). */
  recordError: (code: string, error: unknown) => void;
  /** GET /metrics */
  handler: RequestHandler;
}

/**
 * The route pattern (e.g. /v1/tokens/:sym), never the raw path: labels stay bounded. Routers
 * mounted under a prefix record it in res.locals.routeBase (by the time an error has reached
 * the app's error middleware, req.baseUrl no longer holds it).
 */
function routeLabel(req: Request, res: Response): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (!route || typeof route.path !== 'string') return 'unmatched';
  const base = typeof res.locals.routeBase === 'string' ? res.locals.routeBase : req.baseUrl;
  return `${base}${route.path}`;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'tally_' });
  const requests = new Counter({
    name: 'tally_http_requests_total', help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const, registers: [registry],
  });
  const latency = new Histogram({
    name: 'tally_http_request_duration_seconds', help: 'HTTP request latency by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const, buckets: latencyBucketsSeconds, registers: [registry],
  });
  const errors = new Counter({
    name: 'tally_http_errors_total', help: 'HTTP error responses by error code',
    labelNames: ['code'] as const, registers: [registry],
  });
  const ledgerErrors = new Counter({
    name: 'tally_ledger_errors_total', help: 'Ledger errors (Lua error replies) by code',
    labelNames: ['code'] as const, registers: [registry],
  });

  const middleware: RequestHandler = (req: Request, res: Response, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const labels = { method: req.method, route: routeLabel(req, res), status: String(res.statusCode) };
      requests.inc(labels);
      latency.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };

  return {
    registry,
    middleware,
    recordError(code, error) {
      errors.inc({ code });
      if (error instanceof LedgerError) ledgerErrors.inc({ code: error.code });
    },
    handler: async (_req, res) => {
      res.setHeader('Content-Type', registry.contentType);
      res.send(await registry.metrics());
    },
  };
}
