// Redis connections: one standalone client (REDIS_URL) or one cluster client
// (REDIS_CLUSTER_URLS). Both expose the commands Tally uses with the same names.
import { createClient, createCluster, type RedisClientType, type RedisClusterType } from 'redis';

export type RedisConnection = RedisClientType | RedisClusterType;

export interface RedisTarget {
  url?: string;
  clusterUrls?: string[];
}

const connectTimeoutMs = 5_000;

export async function connectRedis(target: RedisTarget): Promise<RedisConnection> {
  if (target.clusterUrls && target.clusterUrls.length > 0) {
    const cluster = createCluster({
      rootNodes: target.clusterUrls.map((url) => ({ url })),
      defaults: { socket: { connectTimeout: connectTimeoutMs } },
    }) as unknown as RedisClusterType;
    cluster.on('error', () => {});
    await cluster.connect();
    return cluster;
  }
  if (!target.url) throw new Error('REDIS_URL or REDIS_CLUSTER_URLS is required');
  const client = createClient({ url: target.url, socket: { connectTimeout: connectTimeoutMs } }) as unknown as RedisClientType;
  client.on('error', () => {});
  await client.connect();
  return client;
}

export function isCluster(redis: RedisConnection): redis is RedisClusterType {
  return 'masters' in redis;
}
