// `tally token`: a dev JWT for the API, HS256 with JWT_SECRET (else the secret `make run` wrote
// to DATA_DIR/dev-jwt-secret), carrying JWT_ISSUER and JWT_AUDIENCE when set. `tally dashboard`:
// the same token inside a dashboard link, `<url>/#token=<jwt>` (a fragment never reaches the server).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { mintDevToken } from '../auth/dev-token.ts';
import { loadConfig, type Env } from '../config.ts';
import { UsageError, type CliContext } from './context.ts';

const ttlSecondsDefault = 3600;
const dashboardSubDefault = 'ops';

/** `3600`, `90s`, `15m`, `12h`, `7d` -> seconds. */
export function parseTtlSeconds(value: string): number {
  const match = /^([1-9][0-9]{0,8})([smhd]?)$/.exec(value);
  if (!match) throw new InvalidArgumentError('ttl must look like 3600, 90s, 15m, 12h or 7d');
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

function parseBaseUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
  } catch { /* below */ }
  throw new InvalidArgumentError('url must be an http:// or https:// URL such as http://127.0.0.1:3000');
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
      context.print(mintDevToken(signingConfig(context.env), { sub, admin: options.admin === true, ttlSeconds: options.ttl }));
    });

  program.command('dashboard')
    .description('print a link that opens the dashboard signed in with a dev token (<url>/#token=<jwt>)')
    .option('--admin', 'sign in as an admin (roles: ["admin"])')
    .option('--sub <account>', 'the ledger account the token acts as', dashboardSubDefault)
    .option('--ttl <duration>', 'lifetime: 3600, 90s, 15m, 12h, 7d', parseTtlSeconds, ttlSecondsDefault)
    .option('--url <url>', 'where the API serves (default http://127.0.0.1:$PORT)', parseBaseUrl)
    .action((options: { admin?: boolean; sub: string; ttl: number; url?: string }) => {
      const base = options.url ?? `http://127.0.0.1:${loadConfig(context.env, ['http']).http.port}`;
      const token = mintDevToken(signingConfig(context.env), { sub: options.sub, admin: options.admin === true, ttlSeconds: options.ttl });
      context.print(`${base}/#token=${token}`);
    });
}
