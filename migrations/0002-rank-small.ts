// Library 1.1 ranks balances below 2^53 in `token:{SYM}:rank:small` (score -balance) and only
// larger ones in the lex-encoded `token:{SYM}:rank` (see _lib.lua, Holder ranking). Tokens
// written by library 1.0 have every balance in `rank`: this moves the small ones, token by
// token, page by page, each page in one transaction. Safe to run again: it only moves members
// still in the old place.
import { isCluster, type RedisConnection } from '../src/connections.ts';

const pageMembers = 1000;
const scanCount = 1000;
const smallLimit = 2n ** 53n;
/** Members of `rank` whose balance has at most 16 digits start with 99 - 16 = 83 or more. */
const smallPrefix = '[83';

const complement = (digits: string) => digits.replace(/\d/g, (d) => String(9 - Number(d)));

export function decodeRankMember(member: string): { account: string; balance: bigint } {
  const digits = 99 - Number(member.slice(0, 2));
  return { balance: BigInt(complement(member.slice(2, 2 + digits))), account: member.slice(3 + digits) };
}

type Node = {
  scanIterator(options: { MATCH: string; TYPE: string; COUNT: number }): AsyncIterable<string[]>;
  zRangeByLex(key: string, min: string, max: string, options: { LIMIT: { offset: number; count: number } }): Promise<string[]>;
  zCard(key: string): Promise<number>;
  multi(): { zRem(key: string, member: string): unknown; zAdd(key: string, member: { score: number; value: string }): unknown; exec(): Promise<unknown> };
};

async function moveSmallBalances(node: Node, rankKey: string): Promise<number> {
  const smallKey = `${rankKey}:small`;
  let moved = 0;
  let kept = 0;
  // Each page either moves members (they leave the range) or counts them as kept: bounded by
  // the set's size.
  const pagesMax = Math.ceil((await node.zCard(rankKey)) / pageMembers) * 2 + 1;
  for (let page = 0; page < pagesMax; page++) {
    const members = await node.zRangeByLex(rankKey, smallPrefix, '+', { LIMIT: { offset: kept, count: pageMembers } });
    if (members.length === 0) break;
    const tx = node.multi();
    let moves = 0;
    for (const member of members) {
      const { account, balance } = decodeRankMember(String(member));
      if (balance >= smallLimit) { kept++; continue; }
      tx.zRem(rankKey, String(member));
      tx.zAdd(smallKey, { score: -Number(balance), value: account });
      moves++;
    }
    if (moves > 0) await tx.exec();
    moved += moves;
  }
  return moved;
}

export default {
  description: 'move balances below 2^53 from token:{SYM}:rank to token:{SYM}:rank:small (library 1.1)',
  async up(redis: RedisConnection) {
    const nodes = isCluster(redis) ? await Promise.all(redis.masters.map((m) => redis.nodeClient(m))) : [redis];
    for (const node of nodes as unknown as Node[]) {
      for await (const keys of node.scanIterator({ MATCH: 'token:{*}:rank', TYPE: 'zset', COUNT: scanCount })) {
        for (const key of keys) {
          if (/^token:\{[A-Z0-9][A-Z0-9_-]{0,31}\}:rank$/.test(String(key))) await moveSmallBalances(node, String(key));
        }
      }
    }
  },
} satisfies import('../src/migrate/migrations.ts').MigrationModule;
