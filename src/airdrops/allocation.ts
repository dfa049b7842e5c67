// How an airdrop divides what it pays among a snapshot's holders (docs/airdrops.md): the one rule
// both the Tally airdrop and the Hedera airdrop plan follow, so the two pay the same legs.
//
// - `fixed`: every holder gets `amount`.
// - `proRata`: `total` split by balance, exactly: each holder first gets floor(total * b / B),
//   then the units left over (fewer than the holders) go one each to the largest remainders
//   (total * b mod B), ties broken by account ascending (Hedera ids by shard.realm.num, other
//   ledger accounts by their UTF-8 bytes). The legs sum to `total`, never more or less.
//
// Holders whose share is 0 get no leg. A rule that pays no one at all is refused
// (AIRDROP_PAYS_NOTHING): nothing would be planned and the caller has surely made a mistake.
// All arithmetic is BigInt; memory is one entry per holder (a million holders fit in a few
// hundred MB at most), and the work is one sort of the holders that take a leftover unit.
import { TallyError } from '../errors.ts';
import { compareEntityIds, isCanonicalEntityId, parseEntityId } from '../snapshots/hedera-ids.ts';

export type AllocationRule = { rule: 'fixed'; amount: bigint } | { rule: 'proRata'; total: bigint };

export interface AllocationHolder { account: string; balance: bigint }

export interface Leg { account: string; amount: bigint }

export class AirdropPaysNothingError extends TallyError {
  constructor(message: string) { super('AIRDROP_PAYS_NOTHING', message); }
}

/** Account order for ties and for the plan: Hedera ids numerically, any other account by bytes. */
export function compareAccounts(a: string, b: string): number {
  const aId = isCanonicalEntityId(a);
  const bId = isCanonicalEntityId(b);
  if (aId && bId) return compareEntityIds(parseEntityId(a), parseEntityId(b));
  if (aId !== bId) return aId ? -1 : 1; // Hedera ids first, should a list ever mix the two
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** `holders` in account order; each account parsed once, not once per comparison. */
function sortByAccount(holders: readonly AllocationHolder[]): AllocationHolder[] {
  const keyed = holders.map((h) => ({ h, id: isCanonicalEntityId(h.account) ? parseEntityId(h.account) : null, bytes: null as Buffer | null }));
  keyed.sort((a, b) => {
    if (a.id && b.id) return compareEntityIds(a.id, b.id);
    if (a.id || b.id) return a.id ? -1 : 1;
    a.bytes ??= Buffer.from(a.h.account);
    b.bytes ??= Buffer.from(b.h.account);
    return Buffer.compare(a.bytes, b.bytes);
  });
  return keyed.map((k) => k.h);
}

/**
 * The legs of `rule` over `holders` (balances > 0, accounts distinct), in account order.
 * Throws AIRDROP_PAYS_NOTHING when no holder would receive anything.
 */
export function allocate(holders: readonly AllocationHolder[], rule: AllocationRule): Leg[] {
  const sorted = sortByAccount(holders);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1]!.account === sorted[i]!.account) throw new TallyError('INVALID_ARGUMENT', `account ${sorted[i]!.account} appears twice among the holders`);
  }
  const legs = rule.rule === 'fixed' ? fixedLegs(sorted, rule.amount) : proRataLegs(sorted, rule.total);
  if (legs.length === 0) {
    throw new AirdropPaysNothingError(sorted.length === 0 ? 'the snapshot has no holders left to pay (after filters)'
      : `the rule pays 0 to every one of the ${sorted.length} holders`);
  }
  return legs;
}

function fixedLegs(holders: readonly AllocationHolder[], amount: bigint): Leg[] {
  if (amount <= 0n) return [];
  return holders.map((h) => ({ account: h.account, amount }));
}

function proRataLegs(holders: readonly AllocationHolder[], total: bigint): Leg[] {
  let supply = 0n;
  for (const h of holders) {
    if (h.balance <= 0n) throw new TallyError('INVALID_ARGUMENT', `holder ${h.account} has balance ${h.balance}; a pro-rata split needs positive balances`);
    supply += h.balance;
  }
  if (total <= 0n || supply === 0n) return [];
  const shares = holders.map((h) => total * h.balance / supply);
  let left = total - shares.reduce((sum, s) => sum + s, 0n); // 0 <= left < holders.length
  if (left > 0n) {
    const remainders = holders.map((h, i) => ({ i, r: total * h.balance % supply }));
    // holders are already in account order, so a stable sort by remainder keeps ties by account
    remainders.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
    for (const { i } of remainders) {
      if (left === 0n) break;
      shares[i]! += 1n;
      left -= 1n;
    }
  }
  const legs: Leg[] = [];
  holders.forEach((h, i) => { if (shares[i]! > 0n) legs.push({ account: h.account, amount: shares[i]! }); });
  return legs;
}
