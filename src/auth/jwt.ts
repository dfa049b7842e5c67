// The one JWT verifier of Tally, used by REST (through express-jwt, src/http/auth.ts) and by
// both Socket.IO namespaces (src/realtime/server.ts): the same key source, algorithms (pinned by
// the configuration), issuer, audience, JWKS cache and outage answer. `sub` is the caller's
// ledger account; a `roles` claim containing 'admin' makes an admin.
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt, { type Algorithm, type JwtHeader, type JwtPayload } from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import type { JwtConfig } from '../config.ts';

export interface Caller {
  /** The `sub` claim: the caller's ledger account. */
  account: string;
  admin: boolean;
}

export interface VerifiedToken {
  caller: Caller;
  /** When the token expires (ms since the epoch); undefined when it has no `exp`. */
  expiresAtMs?: number;
}

/** The signing keys could not be fetched (JWKS down): a dependency failure, not the caller's. */
export class SigningKeysUnavailableError extends Error {
  readonly code = 'UNAVAILABLE';

  constructor(cause: unknown) {
    super(`the signing keys could not be fetched (${(cause as Error)?.name ?? 'error'})`, { cause });
    this.name = 'SigningKeysUnavailableError';
  }
}

/** The token is missing, malformed, badly signed, expired, or has no usable `sub`. */
export class InvalidTokenError extends Error {
  readonly code = 'UNAUTHENTICATED';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidTokenError';
  }
}

export interface JwtVerifier {
  /** What express-jwt needs: the same options and key lookup as verify(). */
  readonly options: jwt.VerifyOptions & { algorithms: Algorithm[] };
  /** The verification key for a token's header; throws SigningKeysUnavailableError when JWKS is down. */
  keyFor(header: JwtHeader): Promise<KeyObject | string | undefined>;
  /** The one key of a secret or a public key (no JWKS): REST hands it to express-jwt as is, which spares a lookup per request. */
  readonly staticKey?: KeyObject;
  /** Verifies a compact JWT; throws InvalidTokenError or SigningKeysUnavailableError. */
  verify(token: unknown): Promise<VerifiedToken>;
}

const jwksTimeoutMs = 5_000;
const jwksRequestsPerMinute = 10;
const jwksCacheMaxAgeMs = 10 * 60_000;
const tokenCharsMax = 8_192;
const subCharsMax = 256;

// Keys become KeyObjects once here: given a string, jsonwebtoken first tries createPublicKey
// on every verification and builds the secret key from the exception it throws.
function staticKeyOf(config: JwtConfig): KeyObject | undefined {
  if (config.secret) return createSecretKey(Buffer.from(config.secret, 'utf8'));
  if (config.publicKey) return createPublicKey(config.publicKey);
  return undefined;
}

function keySource(config: JwtConfig, staticKey: KeyObject | undefined): (header: JwtHeader) => Promise<KeyObject | string | undefined> {
  if (staticKey) return async () => staticKey;
  if (!config.jwksUrl) throw new Error('auth: the JWT configuration has no key source');
  const client = jwksRsa({
    jwksUri: config.jwksUrl, cache: true, cacheMaxAge: jwksCacheMaxAgeMs, rateLimit: true, jwksRequestsPerMinute, timeout: jwksTimeoutMs,
  });
  return async (header) => {
    try {
      return (await client.getSigningKey(header.kid)).getPublicKey();
    } catch (error) {
      // An unknown kid is the caller's problem (401); an endpoint that does not answer is ours.
      if ((error as Error).name === 'SigningKeyNotFoundError') return undefined;
      throw new SigningKeysUnavailableError(error);
    }
  };
}

function isAdmin(roles: unknown): boolean {
  if (Array.isArray(roles)) return roles.includes('admin');
  if (typeof roles === 'string') return roles.split(/[\s,]+/).includes('admin');
  return false;
}

/** The caller of a verified token; undefined when `sub` is missing or unusable. */
export function callerFromClaims(claims: JwtPayload | undefined): Caller | undefined {
  const sub = claims?.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > subCharsMax) return undefined;
  return { account: sub, admin: isAdmin((claims as Record<string, unknown>).roles) };
}

function describe(error: unknown): string {
  const name = (error as { name?: unknown } | undefined)?.name;
  if (name === 'TokenExpiredError') return 'the token has expired';
  if (name === 'NotBeforeError') return 'the token is not valid yet';
  return 'the token is invalid';
}

export function createJwtVerifier(config: JwtConfig): JwtVerifier {
  const staticKey = staticKeyOf(config);
  const keyFor = keySource(config, staticKey);
  const options = {
    algorithms: config.algorithms as Algorithm[],
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.audience ? { audience: config.audience.length === 1 ? config.audience[0]! : config.audience as [string, ...string[]] } : {}),
  };
  const verify = async (token: unknown): Promise<VerifiedToken> => {
    if (typeof token !== 'string' || token.length === 0) throw new InvalidTokenError('a bearer token is required');
    if (token.length > tokenCharsMax) throw new InvalidTokenError('the token is invalid');
    const claims = await new Promise<JwtPayload>((resolve, reject) => {
      // jsonwebtoken wraps a key lookup's error in its own; keep ours to tell an outage apart.
      let keysDown: SigningKeysUnavailableError | undefined;
      const getKey: jwt.GetPublicKeyOrSecret = (header, callback) => {
        keyFor(header).then((key) => callback(null, key), (error: Error) => {
          if (error instanceof SigningKeysUnavailableError) keysDown = error;
          callback(error);
        });
      };
      jwt.verify(token, getKey, options, (error, decoded) => {
        if (keysDown) return reject(keysDown);
        if (error) return reject(new InvalidTokenError(describe(error), { cause: error }));
        if (!decoded || typeof decoded === 'string') return reject(new InvalidTokenError('the token is invalid'));
        resolve(decoded);
      });
    });
    const caller = callerFromClaims(claims);
    if (!caller) throw new InvalidTokenError('the token has no usable sub claim');
    return { caller, ...(typeof claims.exp === 'number' ? { expiresAtMs: claims.exp * 1000 } : {}) };
  };
  return { options, keyFor, verify, ...(staticKey ? { staticKey } : {}) };
}
