// Per-client rate limit shared by every API instance through Redis (rate-limit-redis): one
// counter per `sub` when the request carries a valid token, else per client IP (IPv6 grouped by
// /56). Over the limit: 429 with the JSON error body and a Retry-After header.
import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { isCluster, type RedisConnection } from '../connections.ts';
import type { Caller } from '../auth/jwt.ts';
import { HttpError } from './errors.ts';

const windowMs = 60_000;

export interface RateLimitOptions {
  redis: RedisConnection;
  limitPerMinute: number;
  /** Key prefix in Redis; tests give each app its own. */
  prefix?: string;
}

function store(redis: RedisConnection, prefix: string): RedisStore {
  if (isCluster(redis)) {
    return new RedisStore({
      prefix,
      sendCommandCluster: ({ key, isReadOnly, command }) => redis.sendCommand(key, isReadOnly, command) as Promise<RedisReply>,
    });
  }
  return new RedisStore({ prefix, sendCommand: (...args: string[]) => redis.sendCommand(args) as Promise<RedisReply> });
}

/** A no-op when the limit is 0 (off). Mount it after `identify` so the caller is known. */
export function createRateLimit(options: RateLimitOptions): RequestHandler {
  if (options.limitPerMinute === 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs,
    limit: options.limitPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: store(options.redis, options.prefix ?? 'tally:rl:'),
    keyGenerator: (req, res) => {
      const caller = res.locals.caller as Caller | undefined;
      return caller ? `sub:${caller.account}` : `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
    },
    handler: (_req, _res, next) => {
      next(new HttpError('RATE_LIMITED', `more than ${options.limitPerMinute} requests in a minute; retry after the Retry-After header`));
    },
    // A Redis failure becomes a 503 from the error middleware rather than an unlimited pass.
    passOnStoreError: false,
  });
}
