// Redis connections: one standalone client (REDIS_URL) or one cluster client
// (REDIS_CLUSTER_URLS). Both expose the commands Tally uses with the same names.
import { createClient, createCluster, TimeoutError, type RedisClientType, type RedisClusterType } from 'redis';
import { withTimeout } from './time.ts';

export type RedisConnection = RedisClientType | RedisClusterType;

export interface RedisTarget {
  url?: string;
  clusterUrls?: string[];
  /**
   * A command without a reply by then fails with a TimeoutError (ledger calls retry safely).
   * node-redis applies its own command timeout only until the command is written to the socket;
   * the wait for the reply is bounded by withReplyTimeout (ledger calls, rate limit).
   */
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

const replyTimeouts = new WeakMap<object, number>();

/**
 * Rejects with node-redis' TimeoutError when the reply takes longer than the connection's
 * command timeout. (node-redis drops its timeout once the command is on the socket, so a Redis
 * that stops answering without closing the connection, e.g. paused or cut off by the network,
 * would hold a request forever.) The late reply, if any, is discarded.
 */
export function withReplyTimeout<T>(redis: RedisConnection, reply: Promise<T>): Promise<T> {
  const timeoutMs = replyTimeouts.get(redis) ?? commandTimeoutMsDefault;
  return withTimeout(reply, timeoutMs, () => new TimeoutError(`no reply from Redis within ${timeoutMs} ms`));
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
    replyTimeouts.set(cluster, commandTimeout);
    return cluster;
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
  replyTimeouts.set(client, commandTimeout);
  return client;
}

export function isCluster(redis: RedisConnection): redis is RedisClusterType {
  return 'masters' in redis;
}
