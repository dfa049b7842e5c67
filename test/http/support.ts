// Helpers for the HTTP suites: an app on a loopback port over the shared test Redis, JWT
// minting, and requests with real fetch (or raw node:http when fetch would refuse the input).
import { createHmac } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import jwt from 'jsonwebtoken';
import { createApp, type AppDeps } from '../../src/app.ts';
import { answerClientErrors } from '../../src/http/client-errors.ts';
import { createJwtVerifier } from '../../src/auth/jwt.ts';
import { loadConfig, type Config, type Env } from '../../src/config.ts';
import { createLedger, type Ledger } from '../../src/ledger/client.ts';
import { createLogger } from '../../src/logger.ts';
import { connectRedis, type RedisConnection } from '../../src/connections.ts';
import { closeServer, listenOnLoopback } from '../../testkit/http-server.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';

export const testSecret = 'test-secret-for-hs256-0123456789abcdef';

export interface TestApp {
  url: string;
  config: Readonly<Config>;
  redis: RedisConnection;
  ledger: Ledger;
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Env;
  /** Snapshot routes and readiness checks, as src/main.ts passes them. */
  parts?: Pick<AppDeps, 'snapshots' | 'readinessChecks'>;
  redisUrl?: string;
  ledger?: Ledger;
  rateLimitPrefix?: string;
}

/** An app listening on 127.0.0.1:<free port>, rate limiting off unless env says otherwise. */
export async function startApp(options: StartOptions = {}): Promise<TestApp> {
  const config = loadConfig({
    REDIS_URL: options.redisUrl ?? sharedRedisUrl(),
    JWT_SECRET: testSecret,
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const redis = await connectRedis({ ...config.redis, commandTimeoutMs: 2_000 });
  const ledger = options.ledger ?? createLedger(redis);
  const app = createApp({
    ledger, redis, config, logger: createLogger('silent'), verifier: createJwtVerifier(config.jwt),
    ...options.parts,
    rateLimitPrefix: options.rateLimitPrefix ?? `test:rl:${uniqueSymbol()}:`,
  });
  const server = createServer(app);
  answerClientErrors(server);
  return {
    url: await listenOnLoopback(server),
    config,
    redis,
    ledger,
    async close() {
      await closeServer(server);
      redis.destroy();
    },
  };
}

export interface MintOptions {
  admin?: boolean;
  roles?: unknown;
  secret?: string;
  expiresInSeconds?: number;
  claims?: Record<string, unknown>;
}

/** An HS256 token for `sub` (admin adds roles: ['admin']). */
export function mint(sub: string | undefined, options: MintOptions = {}): string {
  const payload: Record<string, unknown> = { ...(sub === undefined ? {} : { sub }), roles: options.roles ?? (options.admin ? ['admin'] : []), ...options.claims };
  return jwt.sign(payload, options.secret ?? testSecret, { algorithm: 'HS256', expiresIn: options.expiresInSeconds ?? 3_600 });
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token with any header, signed with HMAC-SHA256 over `key` (or unsigned for alg none). */
export function forge(header: Record<string, unknown>, payload: Record<string, unknown>, key?: string | Buffer): string {
  const body = `${b64(header)}.${b64(payload)}`;
  return key === undefined ? `${body}.` : `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Sent as is (no JSON encoding). */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
}

/** fetch with JSON in and out. */
export async function call(baseUrl: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { parsed = undefined; }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** node:http, for paths and headers fetch would normalize or refuse. */
export function rawCall(baseUrl: string, method: string, path: string, headers: Record<string, string | string[]> = {}, body?: string | Buffer): Promise<Reply> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try { parsed = JSON.parse(text); } catch { parsed = undefined; }
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        resolve({ status: res.statusCode ?? 0, headers: h, body: parsed, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Creates a token through the ledger; returns its symbol. */
export async function makeToken(ledger: Ledger, options: { supply?: string; treasury?: string; decimals?: number; prefix?: string } = {}): Promise<string> {
  const symbol = uniqueSymbol(options.prefix ?? 'H');
  await ledger.init(symbol, { name: `Token ${symbol}`, decimals: options.decimals ?? 6, totalSupply: options.supply ?? '1000000', treasury: options.treasury ?? 'alice' });
  return symbol;
}
