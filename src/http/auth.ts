// Bearer-token authentication of the REST API: express-jwt driven by the one verifier of
// src/auth/jwt.ts (same key source, algorithms, issuer, audience and JWKS cache as Socket.IO).
//
// Authentication runs in two steps so the rate limiter can sit between them: `identify` verifies
// a token when one is sent and remembers the outcome (never failing), then `requireCaller`
// rejects requests without a valid token. Unauthenticated floods are thus limited per IP.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { expressjwt, UnauthorizedError } from 'express-jwt';
import type { JwtPayload } from 'jsonwebtoken';
import { callerFromClaims, SigningKeysUnavailableError, type Caller, type JwtVerifier } from '../auth/jwt.ts';
import { HttpError } from './errors.ts';

type AuthedRequest = Request & { auth?: JwtPayload; authError?: unknown };

export interface Auth {
  /** Verifies a bearer token when present; stores the caller or the failure. Never fails. */
  identify: RequestHandler;
  /** 401 unless `identify` found a valid token; then res.locals.caller is set. */
  requireCaller: RequestHandler;
}

/** REST authentication over the one verifier (src/auth/jwt.ts): express-jwt with its key lookup and options. */
export function createAuth(verifier: JwtVerifier): Auth {
  const verify = expressjwt({
    secret: verifier.staticKey ?? (async (_req, token) => {
      try {
        return await verifier.keyFor(token?.header ?? { alg: 'none' });
      } catch (error) {
        if (error instanceof SigningKeysUnavailableError) throw new HttpError('UNAVAILABLE', error.message);
        throw error;
      }
    }),
    ...verifier.options,
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
