// Pages over ledger_top without changing the Lua: the order is balance descending, ties by
// account ascending, and a page holds the holders after the last one of the previous page in
// that order, so a page never repeats a holder that has not moved. ledger_top reaches the top
// `holdersRankMax` accounts; pages stop there (the token's info says how many holders exist).
import { top, type Holder } from './functions.ts';
import type { RedisConnection } from '../connections.ts';

export const holdersRankMax = 1000;

/** Where the previous page stopped: its last holder and how many holders it ranked up to then. */
export interface HoldersCursor { ranked: number; balance: string; account: string }

export interface HoldersPage { holders: Holder[]; next: HoldersCursor | null }

const isAfter = (h: Holder, c: HoldersCursor): boolean => {
  const [balance, last] = [BigInt(h.balance), BigInt(c.balance)];
  return balance < last || (balance === last && h.account > c.account);
};

/** The page after `after` (its first `limit` holders) of holders ranked in ledger_top's order. */
export function slicePage(ranked: Holder[], limit: number, after?: HoldersCursor): HoldersPage {
  let start = after ? ranked.findIndex((h) => isAfter(h, after)) : 0;
  if (start === -1) start = ranked.length;
  const holders = ranked.slice(start, start + limit);
  const last = holders.at(-1);
  const more = last !== undefined && ranked.length > start + holders.length;
  return { holders, next: more ? { ranked: start + holders.length, balance: last.balance, account: last.account } : null };
}

export async function holdersPage(redis: RedisConnection, symbol: string, query: { limit: number; after?: HoldersCursor }): Promise<HoldersPage> {
  const { limit, after } = query;
  // One more than the page, to know whether another page exists; the cursor's rank is a hint.
  let fetchCount = Math.min(holdersRankMax, (after?.ranked ?? 0) + limit + 1);
  let ranked = await top(redis, symbol, fetchCount);
  const start = after ? ranked.findIndex((h) => isAfter(h, after)) : 0;
  if (ranked.length === fetchCount && fetchCount < holdersRankMax && ranked.length <= (start === -1 ? ranked.length : start) + limit) {
    // Holders moved up since the previous page: the hint was short, read the whole bound.
    fetchCount = holdersRankMax;
    ranked = await top(redis, symbol, fetchCount);
  }
  return slicePage(ranked, limit, after);
}
