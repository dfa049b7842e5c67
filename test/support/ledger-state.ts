// Reads every key of a token as raw bytes (DUMP), so a test can check that a failing call left
// the token byte-for-byte unchanged.
import type { RedisConnection } from '../../src/redis.ts';
import { RESP_TYPES } from 'redis';

export async function tokenState(redis: RedisConnection, symbol: string): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  const raw = (redis as any).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  for await (const keys of (redis as any).scanIterator({ MATCH: `token:{${symbol}}*`, COUNT: 1000 })) {
    for (const key of keys as string[]) {
      const dump = await raw.dump(key) as Buffer | null;
      const ttl = await redis.pTTL(key);
      state.set(key, `${dump ? dump.toString('hex') : 'nil'}|ttl:${ttl > 0 ? 'set' : ttl}`);
    }
  }
  return state;
}
