// Lists token symbols by scanning for token:{SYM} hashes (on every master of a cluster). Tokens
// are few next to holders, and the scan is paged: one call examines a bounded number of keys.
import { isCluster, type RedisConnection } from '../connections.ts';
import { symbolPattern } from '../identifiers.ts';

const scanCountPerCall = 1000;
const scanCallsMax = 50;
const tokenKeyPattern = /^token:\{([A-Z0-9][A-Z0-9_-]{0,31})\}$/;

export interface TokenList { symbols: string[]; cursor: string | null }

type ScanClient = { scan(cursor: string, options: { MATCH: string; TYPE: string; COUNT: number }): Promise<{ cursor: string; keys: string[] }> };

async function scanNode(client: ScanClient, cursor: string, want: number): Promise<{ symbols: string[]; cursor: string }> {
  const symbols: string[] = [];
  let next = cursor;
  for (let calls = 0; calls < scanCallsMax && symbols.length < want; calls++) {
    const page = await client.scan(next, { MATCH: 'token:{*}', TYPE: 'hash', COUNT: scanCountPerCall });
    for (const key of page.keys) {
      const symbol = tokenKeyPattern.exec(String(key))?.[1];
      if (symbol && symbolPattern.test(symbol)) symbols.push(symbol);
    }
    next = String(page.cursor);
    if (next === '0') break;
  }
  return { symbols, cursor: next };
}

/**
 * One page of token symbols. The cursor is `node:scanCursor` (node is the master's index in a
 * cluster, 0 standalone); null when every node has been scanned. A page may hold a few more
 * symbols than `limit` (SCAN returns whole batches) and never repeats one.
 */
export async function listTokens(redis: RedisConnection, query: { cursor?: string; limit: number }): Promise<TokenList> {
  const [nodeText, scanCursor] = (query.cursor ?? '0:0').split(':');
  let node = Number(nodeText);
  let cursor = scanCursor ?? '0';
  const nodes = isCluster(redis) ? redis.masters : [null];
  if (!Number.isSafeInteger(node) || node < 0 || node >= nodes.length || !/^\d{1,20}$/.test(cursor)) {
    throw new RangeError('invalid cursor');
  }
  const symbols: string[] = [];
  while (node < nodes.length && symbols.length < query.limit) {
    const master = nodes[node];
    const client = (master && isCluster(redis) ? await redis.nodeClient(master) : redis) as unknown as ScanClient;
    const page = await scanNode(client, cursor, query.limit - symbols.length);
    symbols.push(...page.symbols);
    if (page.cursor === '0') { node += 1; cursor = '0'; } else { cursor = page.cursor; }
  }
  return { symbols, cursor: node < nodes.length ? `${node}:${cursor}` : null };
}
