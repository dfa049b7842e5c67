// The operator dashboard: static ES modules from src/dashboard/ (no build step) at `/` and
// `/dashboard/*`, the two browser libraries it imports from node_modules through fixed routes
// (no request path reaches the disk outside src/dashboard/), and, only in development
// (DASHBOARD_DEV_TOKENS=1, set by `make run` with its dev secret), a route that mints dev tokens.
// Every response here carries a strict Content-Security-Policy: the page has no inline script or
// style, talks only to its own origin (REST and Socket.IO), and cannot be framed.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { mintDevToken } from '../auth/dev-token.ts';
import type { JwtConfig } from '../config.ts';
import { HttpError } from './errors.ts';
import { accountSchema, parse } from './schemas.ts';

export const dashboardDir = fileURLToPath(new URL('../dashboard/', import.meta.url));

export const contentSecurityPolicy = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

const require = createRequire(import.meta.url);
/** The files the page imports by these names; nothing else of node_modules is reachable. */
const vendorFiles: Record<string, string> = {
  // The Socket.IO client the server package ships (what serveClient would serve).
  'socket.io.esm.min.js': join(dirname(require.resolve('socket.io')), '..', 'client-dist', 'socket.io.esm.min.js'),
  'bignumber.mjs': fileURLToPath(import.meta.resolve('bignumber.js')),
};

const devTokenTtlSeconds = 12 * 3600;
const devTokenBodyBytesMax = 1024;
const devTokenBody = z.strictObject({ sub: accountSchema, admin: z.boolean().optional() });

export interface DashboardDeps {
  /** The HS256 signing configuration when dev tokens may be minted (DASHBOARD_DEV_TOKENS=1). */
  devTokens?: Pick<JwtConfig, 'secret' | 'issuer' | 'audience'>;
}

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', contentSecurityPolicy);
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
};

/** A dev token is handed only to a browser on this machine, whatever the server listens on. */
function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

function devTokenRoute(jwt: NonNullable<DashboardDeps['devTokens']>): RequestHandler {
  return (req, res) => {
    if (!isLoopback(req.socket.remoteAddress)) throw new HttpError('FORBIDDEN', 'dev tokens are minted only for requests from this machine (loopback)');
    const body = parse('body', devTokenBody, req.body);
    res.json({ token: mintDevToken(jwt, { sub: body.sub, admin: body.admin === true, ttlSeconds: devTokenTtlSeconds }), expiresInSeconds: devTokenTtlSeconds });
  };
}

export function createDashboardRouter(deps: DashboardDeps = {}): Router {
  const router = Router();
  const files = express.static(dashboardDir, { index: false, dotfiles: 'ignore', redirect: false, fallthrough: true });
  router.get('/', securityHeaders, (_req, res) => { res.sendFile(join(dashboardDir, 'index.html')); });
  router.get('/dashboard/config.json', securityHeaders, (_req, res) => { res.json({ devTokens: Boolean(deps.devTokens) }); });
  router.get('/dashboard/vendor/:file', securityHeaders, (req, res, next) => {
    const name = String(req.params.file);
    const path = Object.hasOwn(vendorFiles, name) ? vendorFiles[name] : undefined;
    if (!path) return next();
    res.type('text/javascript').sendFile(path);
  });
  router.use('/dashboard', securityHeaders, files);
  if (deps.devTokens) {
    const requireJson: RequestHandler = (req, _res, next) => {
      next(req.is('application/json') ? undefined : new HttpError('UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json'));
    };
    router.post('/dashboard/dev-token', requireJson, express.json({ limit: devTokenBodyBytesMax, strict: true }), devTokenRoute(deps.devTokens));
  }
  return router;
}
