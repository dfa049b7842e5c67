// FUNCTION LOAD REPLACE on a standalone server, or on every master of a cluster (a function
// library reaches only the node it is loaded on).
import { isCluster, type RedisConnection } from '../connections.ts';

export async function loadFunctionLibrary(redis: RedisConnection, source: string): Promise<void> {
  if (!isCluster(redis)) {
    await redis.functionLoad(source, { REPLACE: true });
    return;
  }
  for (const master of redis.masters) {
    const client = await redis.nodeClient(master);
    await client.functionLoad(source, { REPLACE: true });
  }
}
