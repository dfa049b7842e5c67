// `tally token`: a dev JWT for the API, HS256 with JWT_SECRET (else the secret `make run` wrote
// to DATA_DIR/dev-jwt-secret), carrying JWT_ISSUER and JWT_AUDIENCE when set.
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type Env } from '../config.ts';
import { UsageError, type CliContext } from './context.ts';

const ttlSecondsDefault = 3600;
const json = (value: unknown) => JSON.stringify(value);

/** `3600`, `90s`, `15m`, `12h`, `7d` -> seconds. */
export function parseTtlSeconds(value: string): number {
  const match = /^([1-9][0-9]{0,8})([smhd]?)$/.exec(value);
  if (!match) throw new InvalidArgumentError('ttl must look like 3600, 90s, 15m, 12h or 7d');
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** An HS256 JWT, signed with node:crypto (no dev dependency needed at run time). */
export function signHs256(claims: Record<string, unknown>, secret: string): string {
  const body = `${base64url(json({ alg: 'HS256', typ: 'JWT' }))}.${base64url(json(claims))}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/** The JWT configuration with the dev secret file as the fallback key source. */
function signingConfig(env: Env) {
  const { dataDir } = loadConfig(env, ['dataDir']);
  const file = join(dataDir, 'dev-jwt-secret');
  const keySet = Boolean(env.JWT_SECRET || env.JWT_PUBLIC_KEY || env.JWT_JWKS_URL);
  if (!keySet && !existsSync(file)) throw new UsageError(`set JWT_SECRET (or run \`make run\` once, which writes ${file})`);
  const { jwt } = loadConfig(keySet ? env : { ...env, JWT_SECRET: readFileSync(file, 'utf8').trim() }, ['jwt']);
  if (!jwt.secret) throw new UsageError('tally token signs HS256 tokens: it needs JWT_SECRET, not a public key or JWKS');
  return jwt;
}

export function registerTokenCommand(program: Command, context: CliContext): void {
  program.command('token')
    .description('mint an HS256 JWT for the API with JWT_SECRET (or data/dev-jwt-secret), for development')
    .argument('<sub>', 'the ledger account the token acts as')
    .option('--admin', 'add roles: ["admin"]')
    .option('--ttl <duration>', 'lifetime: 3600, 90s, 15m, 12h, 7d', parseTtlSeconds, ttlSecondsDefault)
    .action((sub: string, options: { admin?: boolean; ttl: number }) => {
      const jwt = signingConfig(context.env);
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = { sub, roles: options.admin ? ['admin'] : [], iat: now, exp: now + options.ttl, jti: randomUUID() };
      if (jwt.issuer) claims.iss = jwt.issuer;
      if (jwt.audience) claims.aud = jwt.audience.length === 1 ? jwt.audience[0] : jwt.audience;
      context.print(signHs256(claims, jwt.secret!));
    });
}
