// What the airdrop suites share: the expected legs of a rule computed independently of
// src/airdrops/allocation.ts (a plain model of floor shares and largest remainders), a Tally
// token made over REST, and reads of a token's balances straight from its Redis hash.
import type { RedisClientType } from 'redis';
import type { FakeHolder } from '../../testkit/mirror-node.ts';

const idParts = (account: string) => account.split('.').map(BigInt) as [bigint, bigint, bigint];

/** Hedera ids by (shard, realm, num). */
export function byHederaId(a: string, b: string): number {
  const [x, y] = [idParts(a), idParts(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return 0;
}

/** account -> amount of a pro-rata split of `total` over the holders (balance > 0), exactly. */
export function expectedProRata(holders: readonly FakeHolder[], total: bigint): Map<string, bigint> {
  const paid = holders.filter((h) => h.balance > 0n);
  const supply = paid.reduce((s, h) => s + h.balance, 0n);
  const out = new Map<string, bigint>();
  let given = 0n;
  for (const h of paid) {
    const share = (total * h.balance) / supply;
    out.set(h.account, share);
    given += share;
  }
  const byRemainder = [...paid].sort((a, b) => {
    const ra = (total * a.balance) % supply;
    const rb = (total * b.balance) % supply;
    return ra === rb ? byHederaId(a.account, b.account) : ra > rb ? -1 : 1;
  });
  for (let i = 0; given < total; i++, given++) out.set(byRemainder[i]!.account, out.get(byRemainder[i]!.account)! + 1n);
  for (const [account, amount] of out) if (amount === 0n) out.delete(account);
  return out;
}

/** Every balance of a ledger token, read from `token:{SYM}:balances` (not through Tally). */
export async function balancesInRedis(redis: RedisClientType, symbol: string): Promise<Map<string, bigint>> {
  const hash = await redis.hGetAll(`token:{${symbol}}:balances`) as Record<string, string>;
  return new Map(Object.entries(hash).map(([account, balance]) => [account, BigInt(balance)]));
}

export const sumOf = (values: Iterable<bigint>): bigint => { let s = 0n; for (const v of values) s += v; return s; };
