// Every connection Tally makes, with its timeouts applied once here:
// - the ledger's node-redis client: standalone (REDIS_URL) or cluster (REDIS_CLUSTER_URLS), the
//   same commands under the same names; every command's reply is awaited at most
//   commandTimeoutMs (node-redis bounds a command only until it is written, so a Redis that stops
//   answering without closing the socket, paused or cut off, would hold a request forever);
// - a plain node-redis client for Pub/Sub (Socket.IO's adapter and emitter duplicate it);
// - ioredis for Agenda's Redis backend, and MongoDB clients, each with the same bounds.
// ioredis and mongodb are loaded when first needed: most processes (the CLI, migrations, a
// snapshot run on the Redis store) use neither.
import type { Cluster, Redis } from 'ioredis';
import type { MongoClient } from 'mongodb';
import { createClient, createCluster, TimeoutError, type RedisClientType, type RedisClusterType } from 'redis';
import { withTimeout } from './time.ts';

export type RedisConnection = RedisClientType | RedisClusterType;

export interface RedisTarget {
  url?: string;
  clusterUrls?: string[];
  /** A command without a reply by then fails with a TimeoutError (ledger calls retry safely). */
  commandTimeoutMs?: number;
  onError?: (error: Error) => void;
}

const connectTimeoutMs = 5_000;
const commandTimeoutMsDefault = 5_000;
const reconnectDelayMaxMs = 2_000;

// Reconnect forever with capped exponential backoff: a Redis restart must not need a process
// restart. While disconnected, commands fail at once (no offline queue) so that callers can
// answer 503 instead of hanging.
const socketOptions = {
  connectTimeout: connectTimeoutMs,
  reconnectStrategy: (retries: number) => Math.min(reconnectDelayMaxMs, 50 * 2 ** Math.min(retries, 6)),
};

/**
 * The client (or cluster, or MULTI builder) with every promise it returns bounded by timeoutMs:
 * a late reply is discarded and the caller gets node-redis' TimeoutError. Chained calls return
 * the wrapper; per-node clients of a cluster and MULTI builders are wrapped too.
 */
function boundReplies<T extends object>(client: T, timeoutMs: number): T {
  const bound = (reply: Promise<unknown>) => withTimeout(reply, timeoutMs, () => new TimeoutError(`no reply from Redis within ${timeoutMs} ms`));
  const proxy: T = new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || property === 'duplicate' || property === 'on' || property === 'once' || property === 'off') return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        if (result === target) return proxy;
        if (property === 'multi' || property === 'MULTI') return boundReplies(result as object, timeoutMs);
        if (property === 'nodeClient') return bound(Promise.resolve(result)).then((node) => boundReplies(node as object, timeoutMs));
        return result instanceof Promise ? bound(result) : result;
      };
    },
  });
  return proxy;
}

export async function connectRedis(target: RedisTarget): Promise<RedisConnection> {
  const commandTimeout = target.commandTimeoutMs ?? commandTimeoutMsDefault;
  // node-redis emits 'error' on every failed reconnect; without a listener it would throw.
  const onError = target.onError ?? (() => {});
  if (target.clusterUrls && target.clusterUrls.length > 0) {
    const cluster = createCluster({
      rootNodes: target.clusterUrls.map((url) => ({ url })),
      defaults: { socket: socketOptions, disableOfflineQueue: true },
      commandOptions: { timeout: commandTimeout },
    }) as unknown as RedisClusterType;
    cluster.on('error', onError);
    await cluster.connect();
    return boundReplies(cluster, commandTimeout);
  }
  if (!target.url) throw new Error('REDIS_URL or REDIS_CLUSTER_URLS is required');
  const client = createClient({
    url: target.url,
    socket: socketOptions,
    disableOfflineQueue: true,
    commandOptions: { timeout: commandTimeout },
  }) as unknown as RedisClientType;
  client.on('error', onError);
  await client.connect();
  return boundReplies(client, commandTimeout);
}

export function isCluster(redis: RedisConnection): redis is RedisClusterType {
  return 'masters' in redis;
}

/**
 * A plain client for Pub/Sub and the Socket.IO emitter (on a cluster, classic Pub/Sub reaches
 * every node from any one). While Redis is down, at most queueMax commands wait, then they fail.
 */
export async function connectPubSub(url: string, options: { queueMax: number; commandTimeoutMs?: number; onError: (error: Error) => void }): Promise<RedisClientType> {
  const client: RedisClientType = createClient({ url, socket: socketOptions, commandsQueueMaxLength: options.queueMax });
  client.on('error', options.onError);
  await client.connect();
  return boundReplies(client, options.commandTimeoutMs ?? commandTimeoutMsDefault);
}

/**
 * ioredis (for Agenda's Redis backend): a cluster client when clusterUrls is given (credentials
 * of the first URL apply to every node), else a standalone one; commandTimeout bounds each reply.
 */
export async function connectIoRedis(target: { url?: string; clusterUrls?: string[]; connectTimeoutMs: number; commandTimeoutMs?: number }): Promise<Redis | Cluster> {
  const ioredis = await import('ioredis');
  const options = { connectTimeout: target.connectTimeoutMs, commandTimeout: target.commandTimeoutMs ?? commandTimeoutMsDefault, disconnectTimeout: 200 };
  const clusterUrls = target.clusterUrls ?? [];
  if (clusterUrls.length === 0) {
    if (!target.url) throw new Error('connectIoRedis: a url or clusterUrls is required');
    return new ioredis.Redis(target.url, options);
  }
  const first = new URL(clusterUrls[0]!);
  return new ioredis.Cluster(clusterUrls, {
    redisOptions: {
      ...options,
      username: first.username ? decodeURIComponent(first.username) : undefined,
      password: first.password ? decodeURIComponent(first.password) : undefined,
      tls: first.protocol === 'rediss:' ? {} : undefined,
    },
  });
}

/** A MongoDB client whose server selection, connection and each operation are bounded by timeoutMs. */
export async function connectMongo(url: string, timeoutMs: number): Promise<MongoClient> {
  const { MongoClient: Client } = await import('mongodb');
  const client = new Client(url, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs, socketTimeoutMS: timeoutMs, timeoutMS: timeoutMs });
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
}
