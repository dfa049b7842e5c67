// JWT verification for Socket.IO handshakes, with the same rules as the REST API: algorithms
// pinned by the configuration, issuer and audience enforced when set, `sub` the caller's account,
// `roles` containing 'admin' an admin. The token comes in `auth.accessToken` (or `auth.token`).
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt, { type Algorithm, type GetPublicKeyOrSecret, type JwtPayload } from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import type { JwtConfig } from '../config.ts';
import { callerFromClaims, type Caller } from '../http/auth.ts';

const jwksTimeoutMs = 5_000;
const tokenCharsMax = 8_192;

export interface VerifiedToken {
  caller: Caller;
  /** When the token expires (ms since the epoch); undefined when it has no `exp`. */
  expiresAtMs?: number;
}

export type TokenVerifier = (token: unknown) => Promise<VerifiedToken>;

// KeyObjects once, as the REST side does: given a string, jsonwebtoken would try to parse it as
// a public key on every handshake.
function keySource(config: JwtConfig): KeyObject | GetPublicKeyOrSecret {
  if (config.secret) return createSecretKey(Buffer.from(config.secret, 'utf8'));
  if (config.publicKey) return createPublicKey(config.publicKey);
  if (!config.jwksUrl) throw new Error('socket auth: the JWT configuration has no key source');
  const client = jwksRsa({ jwksUri: config.jwksUrl, cache: true, rateLimit: true, jwksRequestsPerMinute: 10, timeout: jwksTimeoutMs });
  return (header, callback) => {
    client.getSigningKey(header.kid).then((key) => callback(null, key.getPublicKey()), (error: Error) => callback(error));
  };
}

export function createTokenVerifier(config: JwtConfig): TokenVerifier {
  const key = keySource(config);
  const options: jwt.VerifyOptions = {
    algorithms: config.algorithms as Algorithm[],
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.audience ? { audience: config.audience.length === 1 ? config.audience[0]! : config.audience as [string, ...string[]] } : {}),
  };
  return (token) => new Promise((resolve, reject) => {
    if (typeof token !== 'string' || token.length === 0 || token.length > tokenCharsMax) {
      reject(new Error('no token'));
      return;
    }
    jwt.verify(token, key, options, (error, decoded) => {
      if (error || !decoded || typeof decoded === 'string') return reject(error ?? new Error('bad token'));
      const claims = decoded as JwtPayload;
      const caller = callerFromClaims(claims);
      if (!caller) return reject(new Error('no usable sub claim'));
      resolve({
        caller,
        ...(typeof claims.exp === 'number' ? { expiresAtMs: claims.exp * 1000 } : {}),
      });
    });
  });
}
