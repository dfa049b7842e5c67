// Development tokens: HS256 JWTs signed with the configured secret, carrying the issuer and
// audience the verifier enforces. `tally token`, `tally dashboard` and the dashboard's dev-token
// route (only with DASHBOARD_DEV_TOKENS=1, which `make run` sets with its dev secret) mint them
// here, so the three agree on the claims.
import { createHmac, randomUUID } from 'node:crypto';
import type { JwtConfig } from '../config.ts';

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** An HS256 JWT, signed with node:crypto (no dev dependency needed at run time). */
export function signHs256(claims: Record<string, unknown>, secret: string): string {
  const body = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

export interface DevTokenRequest {
  sub: string;
  admin: boolean;
  ttlSeconds: number;
}

/** A token for `sub` that the verifier of `jwt` accepts; `jwt.secret` must be set. */
export function mintDevToken(jwt: Pick<JwtConfig, 'secret' | 'issuer' | 'audience'>, request: DevTokenRequest, nowMs = Date.now()): string {
  if (!jwt.secret) throw new Error('mintDevToken: dev tokens are HS256 and need JWT_SECRET');
  const now = Math.floor(nowMs / 1000);
  const claims: Record<string, unknown> = { sub: request.sub, roles: request.admin ? ['admin'] : [], iat: now, exp: now + request.ttlSeconds, jti: randomUUID() };
  if (jwt.issuer) claims.iss = jwt.issuer;
  if (jwt.audience) claims.aud = jwt.audience.length === 1 ? jwt.audience[0] : jwt.audience;
  return signHs256(claims, jwt.secret);
}
