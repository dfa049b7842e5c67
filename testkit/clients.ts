// Typed factories for the clients tests and benchmarks open: plain node-redis clients (no
// reconnect policy, unlike src/redis.ts connectRedis) and socket.io-client sockets. The return
// types are the ones src/ accepts (RedisConnection = RedisClientType | RedisClusterType), so no
// caller needs a cast to pass a client on.
import { createClient, createCluster, type RedisClientOptions, type RedisClientType, type RedisClusterType } from 'redis';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';

export interface ConnectOptions {
  /** Every client needs an `error` listener (node-redis throws without one); default: ignore. */
  onError?: (error: Error) => void;
  socket?: RedisClientOptions['socket'];
}

/** A connected standalone client. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<RedisClientType> {
  const client: RedisClientType = createClient({ url, ...(options.socket ? { socket: options.socket } : {}) });
  client.on('error', options.onError ?? (() => {}));
  await client.connect();
  return client;
}

/** A connected cluster client over the given nodes. */
export async function connectCluster(rootNodes: { url: string }[]): Promise<RedisClusterType> {
  const cluster: RedisClusterType = createCluster({ rootNodes });
  cluster.on('error', () => {});
  await cluster.connect();
  return cluster;
}

/**
 * A Socket.IO client on `url` + `nsp` (e.g. '/ledger'), WebSocket only and never reconnecting,
 * so a test sees each connect and disconnect exactly once.
 */
export function connectSocket(url: string, nsp: string, auth: Record<string, unknown>, options: Partial<ManagerOptions & SocketOptions> = {}): Socket {
  return io(`${url}${nsp}`, { auth, transports: ['websocket'], reconnection: false, forceNew: true, ...options });
}
