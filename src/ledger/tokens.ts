// Lists token symbols by scanning for token:{SYM} hashes (on every master of a cluster). Tokens
// are few next to holders: every page scans the whole keyspace (bounded), sorts the symbols and
// returns those after the cursor, so pages are in one stable order and `limit` is exact.
import { isCluster, type RedisConnection } from '../connections.ts';
import { TallyError } from '../errors.ts';
import { symbolPattern } from '../identifiers.ts';

const scanCountPerCall = 1000;
/** SCAN calls per node at most (about a million keys examined). */
const scanCallsPerNodeMax = 1000;
const tokenKeyPattern = /^token:\{([A-Z0-9][A-Z0-9_-]{0,31})\}$/;

export interface TokenList { symbols: string[]; cursor: string | null }

type ScanClient = { scan(cursor: string, options: { MATCH: string; TYPE: string; COUNT: number }): Promise<{ cursor: string; keys: string[] }> };

async function scanNode(client: ScanClient, into: Set<string>): Promise<void> {
  let cursor = '0';
  for (let calls = 0; calls < scanCallsPerNodeMax; calls++) {
    const page = await client.scan(cursor, { MATCH: 'token:{*}', TYPE: 'hash', COUNT: scanCountPerCall });
    for (const key of page.keys) {
      const symbol = tokenKeyPattern.exec(String(key))?.[1];
      if (symbol && symbolPattern.test(symbol)) into.add(symbol);
    }
    cursor = String(page.cursor);
    if (cursor === '0') return;
  }
  throw new TallyError('UNAVAILABLE', `the token list needs more than ${scanCallsPerNodeMax} SCAN calls on one node`);
}

/**
 * One page of token symbols in ascending order (byte order: symbols are ASCII). The cursor is
 * the last symbol of the page; the next page holds the symbols after it; null after the last
 * page. Any symbol is a valid cursor (tokens created or deleted between pages shift nothing).
 * With `prefix`, only the symbols that start with it (the dashboard's search).
 */
export async function listTokens(redis: RedisConnection, query: { cursor?: string; limit: number; prefix?: string }): Promise<TokenList> {
  if (query.cursor !== undefined && !symbolPattern.test(query.cursor)) throw new RangeError('invalid cursor');
  const found = new Set<string>();
  if (isCluster(redis)) {
    for (const master of redis.masters) await scanNode(await redis.nodeClient(master) as unknown as ScanClient, found);
  } else {
    await scanNode(redis as unknown as ScanClient, found);
  }
  const after = query.cursor;
  const { prefix } = query;
  const sorted = [...found].filter((s) => (after === undefined || s > after) && (prefix === undefined || s.startsWith(prefix))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const symbols = sorted.slice(0, query.limit);
  return { symbols, cursor: sorted.length > query.limit ? symbols.at(-1)! : null };
}
