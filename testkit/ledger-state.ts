// Every key of a token, so that a test can check that a failing call or request left the token
// unchanged: each key's type, readable content (for a clear diff), raw DUMP bytes (nothing
// changed underneath) and whether it expires. All of a token's keys share the {SYM} hash tag.
import { RESP_TYPES } from 'redis';
import { isCluster, type RedisConnection } from '../src/connections.ts';

export interface KeyState {
  type: string;
  content: unknown;
  /** DUMP, hex. */
  dump: string;
  expires: boolean;
}

const scanCount = 1000;

export async function dumpToken(redis: RedisConnection, symbol: string): Promise<Record<string, KeyState>> {
  if (isCluster(redis)) throw new Error('dumpToken reads a standalone server');
  const raw = redis.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const keys: string[] = [];
  for await (const page of redis.scanIterator({ MATCH: `token:{${symbol}}*`, COUNT: scanCount })) keys.push(...page.map(String));
  const state: Record<string, KeyState> = {};
  for (const key of keys.sort()) {
    const type = String(await redis.type(key));
    const content = type === 'hash' ? await redis.sendCommand(['HGETALL', key])
      : type === 'zset' ? await redis.sendCommand(['ZRANGE', key, '0', '-1', 'WITHSCORES'])
        : type === 'stream' ? await redis.sendCommand(['XRANGE', key, '-', '+'])
          : type === 'string' ? await redis.sendCommand(['GET', key])
            : null;
    const dump = await raw.dump(key);
    state[key] = {
      type,
      content: JSON.parse(JSON.stringify(content, (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v))),
      dump: dump ? dump.toString('hex') : 'nil',
      expires: await redis.pTTL(key) >= 0,
    };
  }
  return state;
}
