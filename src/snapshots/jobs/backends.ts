// Agenda's job backends. MongoDB when mongoUrl is given (collection `agendaJobs`; notifications
// over Redis pub/sub when redisUrl is given too, else polling), else Redis (keys under
// keyPrefix, pub/sub on channelName and channelName:state). The channel is not prefixed by
// Agenda, so each deployment names its own. Give the prefix a hash tag, e.g. `{tally:agenda}:`:
// the backend's scripts touch several keys, which Redis Cluster allows only within one slot
// (required with redisClusterUrls, where the backend talks to the cluster through an ioredis
// Cluster client).
import type { AgendaBackend } from 'agenda';
import { RedisBackend, RedisNotificationChannel } from '@agendajs/redis-backend';
import type { Cluster, Redis } from 'ioredis';
import { MongoBackend } from '@agendajs/mongo-backend';
import type { Db, MongoClient } from 'mongodb';
import { connectIoRedis, connectMongo } from '../../connections.ts';
import { SchedulerUnavailableError } from './errors.ts';
import { mongoLock, redisLock, type Lock, type LockDoc } from './lock.ts';
import type { ErrorReporter, SchedulerOptions } from './types.ts';

export interface BackendParts {
  kind: 'redis' | 'mongo';
  backend: AgendaBackend;
  notificationChannel?: RedisNotificationChannel;
  lock: Lock;
  ping(): Promise<void>;
  close(): Promise<void>;
  lastError(): Error | null;
}

/** ioredis' default disconnectTimeout (2 s) would keep a process alive after a failed connection. */
const mongoJobsCollection = 'agendaJobs';
const mongoLocksCollection = 'agendaScheduleLocks';

/** The backend options ask for: MongoDB when mongoUrl is set, else Redis. */
export async function openBackend(options: SchedulerOptions, report: ErrorReporter): Promise<BackendParts> {
  return options.mongoUrl ? mongoParts(options, report) : redisParts(options, report);
}

/** The ioredis connection of the Redis backend (src/connections.ts applies the timeouts). Tally owns it. */
function connectBackendRedis(options: SchedulerOptions): Promise<Redis | Cluster> {
  return connectIoRedis({ url: options.redisUrl, clusterUrls: options.redisClusterUrls, connectTimeoutMs: options.readyTimeoutMs, commandTimeoutMs: options.commandTimeoutMs });
}

/** Errors of an ioredis client, reported once per outage (it emits one per reconnect attempt). */
function watchConnection(redis: Redis | Cluster, report: ErrorReporter): () => Error | null {
  let lastError: Error | null = null;
  let reported = false;
  redis.on('ready', () => { reported = false; lastError = null; });
  redis.on('error', (error: Error) => {
    lastError = error;
    if (!reported) { reported = true; report(error, 'redis connection'); }
  });
  return () => lastError;
}

async function redisParts(options: SchedulerOptions, report: ErrorReporter): Promise<BackendParts> {
  const redis = await connectBackendRedis(options);
  const lastError = watchConnection(redis, report);
  // The backend is typed for a standalone client; a Cluster serves the same commands, and the
  // hash-tagged prefix keeps every key (and every script) in one slot.
  const backend = new RedisBackend({ redis: redis as Redis, keyPrefix: options.keyPrefix, channelName: options.channelName });
  const channel = backend.notificationChannel as unknown as RedisNotificationChannel;
  channel.on('error', (error: Error) => report(error, 'notification channel'));
  const lockKey = (name: string) => `${options.keyPrefix}tally:lock:${name}`;
  return {
    kind: 'redis',
    backend,
    notificationChannel: channel,
    lock: redisLock(redis, lockKey),
    async ping() { await redis.exists(lockKey('ping')); },
    async close() { redis.disconnect(); },
    lastError,
  };
}

/** Connects to MongoDB and makes sure expired schedule locks are dropped (a TTL index). */
async function openMongo(options: SchedulerOptions): Promise<{ client: MongoClient; db: Db }> {
  let client: MongoClient;
  try {
    client = await connectMongo(options.mongoUrl!, options.readyTimeoutMs);
  } catch (error) {
    throw new SchedulerUnavailableError(`MongoDB did not answer within ${options.readyTimeoutMs} ms: ${(error as Error).message}`, { cause: error });
  }
  const db: Db = client.db();
  try {
    await db.collection<LockDoc>(mongoLocksCollection).createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 }); // MongoDB drops expired locks
  } catch (error) {
    await client.close().catch(() => {});
    throw new SchedulerUnavailableError(`MongoDB refused the lock index: ${(error as Error).message}`, { cause: error });
  }
  return { client, db };
}

async function mongoParts(options: SchedulerOptions, report: ErrorReporter): Promise<BackendParts> {
  const { client, db } = await openMongo(options);
  let channel: RedisNotificationChannel | undefined;
  let pubsub: Redis | Cluster | undefined;
  if (options.redisUrl || options.redisClusterUrls?.length) {
    pubsub = await connectBackendRedis(options);
    watchConnection(pubsub, report);
    channel = new RedisNotificationChannel({ redis: pubsub as Redis, channelName: options.channelName });
    channel.on('error', (error: Error) => report(error, 'notification channel'));
  }
  return {
    kind: 'mongo',
    backend: new MongoBackend({ mongo: db, collection: mongoJobsCollection }),
    notificationChannel: channel,
    lock: mongoLock(db.collection<LockDoc>(mongoLocksCollection)),
    async ping() { await db.command({ ping: 1 }); },
    async close() {
      pubsub?.disconnect();
      await client.close();
    },
    lastError: () => null,
  };
}

/**
 * Agenda calls backend.connect() in its constructor without a catch: a failure would be an
 * unhandled rejection. This wrapper records it and lets `ready` wait (createScheduler times out).
 */
export function guardConnect(inner: AgendaBackend, onFailure: (error: Error) => void): AgendaBackend {
  return {
    name: inner.name,
    get repository() { return inner.repository; },
    get notificationChannel() { return inner.notificationChannel; },
    get logger() { return inner.logger; },
    get ownsConnection() { return inner.ownsConnection; },
    connect: () => inner.connect().catch((error: Error) => { onFailure(error); return new Promise<void>(() => {}); }),
    disconnect: () => inner.disconnect(),
  };
}
