// Snapshot filters (docs/snapshot-products.md): which holders a filtered snapshot keeps, and how
// its line 1 records the filters so that the CID covers them. `treasury` in `exclude` names the
// token's treasury at the snapshot's timestamp; `minCount` counts NFT serials (a holder's balance
// of a NON_FUNGIBLE_UNIQUE token is its number of serials) and has no meaning for fungible tokens.
import { FilterNotApplicableError } from './errors.ts';
import { compareEntityIds, parseEntityId } from './hedera-ids.ts';
import type { HederaTokenInfo } from './mirror/client.ts';
import type { HeaderFilters, Holder } from './snapshot-format.ts';
import type { SnapshotFilters } from './store/metadata-store.ts';

export const nftType = 'NON_FUNGIBLE_UNIQUE';

export interface AppliedFilters {
  keep(holder: Holder): boolean;
  /** For line 1; undefined for an unfiltered snapshot (its bytes stay the original format's). */
  header: HeaderFilters | undefined;
}

export function applyFilters(filters: SnapshotFilters | null, token: Pick<HederaTokenInfo, 'tokenId' | 'type' | 'treasury'>): AppliedFilters {
  if (filters === null) return { keep: () => true, header: undefined };
  if (filters.minCount !== undefined && token.type !== nftType) {
    throw new FilterNotApplicableError(`minCount counts NFT serials; token ${token.tokenId} is ${token.type}`);
  }
  const exclude = [...new Set((filters.exclude ?? []).flatMap((a) => (a === 'treasury' ? (token.treasury === null ? [] : [token.treasury]) : [a])))]
    .sort((a, b) => compareEntityIds(parseEntityId(a), parseEntityId(b)));
  const excluded = new Set(exclude);
  const minBalance = BigInt(filters.minBalance ?? '0');
  const minCount = BigInt(filters.minCount ?? 0);
  return {
    keep: (holder) => !excluded.has(holder.account) && BigInt(holder.balance) >= minBalance && BigInt(holder.balance) >= minCount,
    header: {
      ...(filters.minBalance !== undefined ? { minBalance: filters.minBalance } : {}),
      ...(filters.exclude !== undefined ? { exclude } : {}),
      ...(filters.minCount !== undefined ? { minCount: filters.minCount } : {}),
    },
  };
}
