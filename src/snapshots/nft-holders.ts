// The holders of an NFT token with their serials, at one consensus timestamp
// (docs/snapshot-products.md, "NFT snapshots"). `/tokens/{id}/nfts` lists serials as they are now
// (it has no timestamp parameter), while `/tokens/{id}/balances?timestamp=T` answers each holder's
// count of serials from one balance snapshot. So:
//   1. list every serial (by serial number, burned ones left out) and group them by owner;
//   2. take T: the requested timestamp, else the latest balance snapshot after the listing ended;
//   3. read the counts at T; every account whose listed serials do not number its count at T (it
//      sent or received serials while the listing ran) is read again, alone (`account.id=`);
//   4. repeat 2-3 until every count agrees, at most nftRoundsMax rounds and nftRereadAccountsMax
//      accounts a round; otherwise NFT_SERIALS_UNSETTLED (retried as a whole).
// Guaranteed: the holders and their balances are exactly those of the balance snapshot at T, and
// each holder's serials are ones it held after the listing began, as many as it held at T. Not
// detected: two holders exchanging serials one for one during the listing (their counts stay).
// A timestamp in the past only settles if no holder's count changed since.
import { NftSerialsUnsettledError } from './errors.ts';
import type { MirrorClient } from './mirror/client.ts';
import type { Holder } from './snapshot-format.ts';

export const nftRoundsMax = 3;
export const nftRereadAccountsMax = 1_000;
/** Serials one snapshot may hold in memory (about 40 bytes each). */
export const nftSerialsMax = 5_000_000;

export interface NftHolder extends Holder {
  serials: number[];
}

export interface NftHolders {
  /** In account order, each with its serials ascending. */
  holders: NftHolder[];
  /** The balance snapshot the counts come from. */
  timestamp: string;
  rounds: number;
  reread: number;
}

export interface NftOptions {
  /** The requested timestamp; absent: the latest balance snapshot once the listing is done. */
  timestamp?: string;
  signal?: AbortSignal;
  /** Serials listed so far, after each page. */
  onListed?: (serials: number) => void | Promise<void>;
}

async function listSerials(mirror: MirrorClient, tokenId: string, options: NftOptions & { accountId?: string }, into: Map<string, number[]>): Promise<number> {
  let listed = 0;
  for await (const page of mirror.nftPages!(tokenId, { ...(options.accountId ? { accountId: options.accountId } : {}), ...(options.signal ? { signal: options.signal } : {}) })) {
    for (const nft of page.nfts) {
      if (nft.deleted || nft.account === null) continue;
      if (++listed > nftSerialsMax) throw new NftSerialsUnsettledError(`token ${tokenId} has more than ${nftSerialsMax} serials, the bound of one snapshot`);
      const owned = into.get(nft.account);
      if (owned) owned.push(nft.serial);
      else into.set(nft.account, [nft.serial]);
    }
    await options.onListed?.(listed);
  }
  return listed;
}

async function countsAt(mirror: MirrorClient, tokenId: string, timestamp: string, signal?: AbortSignal): Promise<{ holders: Holder[]; timestamp: string }> {
  const holders: Holder[] = [];
  let answered: string | null = null;
  for await (const page of mirror.balancePages(tokenId, timestamp, signal ? { signal } : {})) {
    holders.push(...page.holders);
    answered ??= page.timestamp;
  }
  return { holders, timestamp: answered ?? timestamp };
}

export async function collectNftHolders(mirror: MirrorClient, tokenId: string, options: NftOptions = {}): Promise<NftHolders> {
  if (!mirror.nftPages) throw new Error('this mirror client cannot list NFT serials');
  const serials = new Map<string, number[]>();
  await listSerials(mirror, tokenId, options, serials);
  let reread = 0;
  for (let round = 1; round <= nftRoundsMax; round++) {
    const at = options.timestamp ?? await mirror.latestTimestamp(options.signal ? { signal: options.signal } : {});
    const counts = await countsAt(mirror, tokenId, at, options.signal);
    const counted = new Map(counts.holders.map((h) => [h.account, BigInt(h.balance)]));
    const moved = [...new Set([...counted.keys(), ...serials.keys()])].filter((a) => counted.get(a) !== BigInt(serials.get(a)?.length ?? 0));
    if (moved.length === 0) {
      const holders = counts.holders.map((h) => ({ ...h, serials: serials.get(h.account)!.sort((x, y) => x - y) }));
      return { holders, timestamp: counts.timestamp, rounds: round, reread };
    }
    if (round === nftRoundsMax || moved.length > nftRereadAccountsMax) break;
    for (const account of moved) {
      serials.delete(account);
      const own = new Map<string, number[]>();
      await listSerials(mirror, tokenId, { ...options, onListed: undefined, accountId: account }, own);
      if (own.has(account)) serials.set(account, own.get(account)!);
      reread += 1;
    }
  }
  throw new NftSerialsUnsettledError(`the serials of token ${tokenId} did not settle against the balances at ${options.timestamp ?? 'the latest balance snapshot'} in ${nftRoundsMax} rounds`);
}
