// Bearer-token authentication with express-jwt, algorithms pinned by the configuration:
// HS256 with JWT_SECRET, or RS256 / ES256 with JWT_PUBLIC_KEY or a JWKS URL (jwks-rsa).
// `sub` is the caller's ledger account; a `roles` claim containing 'admin' makes an admin.
//
// Authentication runs in two steps so the rate limiter can sit between them: `identify` verifies
// a token when one is sent and remembers the outcome (never failing), then `requireCaller`
// rejects requests without a valid token. Unauthenticated floods are thus limited per IP.
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { expressjwt, type GetVerificationKey, UnauthorizedError } from 'express-jwt';
import jwksRsa from 'jwks-rsa';
import type { Algorithm, JwtPayload } from 'jsonwebtoken';
import type { JwtConfig } from '../config.ts';
import { HttpError } from './errors.ts';

export interface Caller {
  /** The `sub` claim: the caller's ledger account. */
  account: string;
  admin: boolean;
}

const jwksTimeoutMs = 5_000;
const jwksRequestsPerMinute = 10;
const jwksCacheMaxAgeMs = 10 * 60_000;
const subCharsMax = 256;

type AuthedRequest = Request & { auth?: JwtPayload; authError?: unknown };

// Keys become KeyObjects once here: given a string, jsonwebtoken first tries createPublicKey
// on every verification and builds the secret key from the exception it throws.
function verificationKey(config: JwtConfig): KeyObject | GetVerificationKey {
  if (config.secret) return createSecretKey(Buffer.from(config.secret, 'utf8'));
  if (config.publicKey) return createPublicKey(config.publicKey);
  if (!config.jwksUrl) throw new Error('auth: the JWT configuration has no key source');
  const fromJwks = jwksRsa.expressJwtSecret({
    jwksUri: config.jwksUrl,
    cache: true,
    cacheMaxAge: jwksCacheMaxAgeMs,
    rateLimit: true,
    jwksRequestsPerMinute,
    timeout: jwksTimeoutMs,
  }) as GetVerificationKey;
  return async (req, token) => {
    try {
      return await fromJwks(req, token);
    } catch (error) {
      // An unknown kid resolves to undefined (-> 401); a JWKS endpoint that does not answer is a
      // dependency failure, not the caller's fault.
      throw new HttpError('UNAVAILABLE', `the signing keys could not be fetched (${(error as Error).name})`);
    }
  };
}

function isAdmin(roles: unknown): boolean {
  if (Array.isArray(roles)) return roles.includes('admin');
  if (typeof roles === 'string') return roles.split(/[\s,]+/).includes('admin');
  return false;
}

export interface Auth {
  /** Verifies a bearer token when present; stores the caller or the failure. Never fails. */
  identify: RequestHandler;
  /** 401 unless `identify` found a valid token; then res.locals.caller is set. */
  requireCaller: RequestHandler;
}

export function createAuth(config: JwtConfig): Auth {
  const verify = expressjwt({
    secret: verificationKey(config),
    algorithms: config.algorithms as Algorithm[],
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.audience ? { audience: config.audience.length === 1 ? config.audience[0]! : config.audience as [string, ...string[]] } : {}),
    credentialsRequired: true,
  });

  const identify: RequestHandler = (req, res, next) => {
    const request = req as AuthedRequest;
    void verify(req, res, (error?: unknown) => {
      if (error) request.authError = error;
      else res.locals.caller = callerFromClaims(request.auth);
      next();
    });
  };

  const requireCaller: RequestHandler = (req, res, next) => {
    const request = req as AuthedRequest;
    if (request.authError) return next(request.authError);
    if (!res.locals.caller) return next(new UnauthorizedError('invalid_token', { message: 'the token has no usable sub claim' }));
    next();
  };

  return { identify, requireCaller };
}

/** The caller of a verified token; undefined when `sub` is missing or unusable. */
export function callerFromClaims(claims: JwtPayload | undefined): Caller | undefined {
  const sub = claims?.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > subCharsMax) return undefined;
  return { account: sub, admin: isAdmin((claims as Record<string, unknown>).roles) };
}

/** The authenticated caller (after requireCaller). */
export function callerOf(res: Response): Caller {
  const caller = res.locals.caller as Caller | undefined;
  if (!caller) throw new Error('callerOf: no authenticated caller (is requireCaller mounted?)');
  return caller;
}

/** Middleware: 403 unless the caller is an admin. */
export const requireAdmin: RequestHandler = (_req: Request, res: Response, next: NextFunction) => {
  next(callerOf(res).admin ? undefined : new HttpError('FORBIDDEN', 'this operation needs the admin role'));
};

/** Throws 403 unless the caller is `account` itself or an admin. */
export function requireSelfOrAdmin(caller: Caller, account: string): void {
  if (caller.admin || caller.account === account) return;
  throw new HttpError('FORBIDDEN', `the caller ${caller.account} may not act on account ${account}`);
}
