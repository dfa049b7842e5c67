// The plan of an airdrop (docs/airdrops.md, The plan): every leg, computed before anything is paid
// and stored on IPFS as NDJSON, so that what will be paid, and why, is fixed and can be shown. The
// bytes depend only on the snapshot's content (its CID), the token, the paying account, the rule
// and the filters: the same inputs give the same bytes, hence the same CID.
//
// Line 1, the header, keys in this order:
//   {"plan":"tally-airdrop","version":1,"symbol","from","rule","amount","total","filters",
//    "snapshot":{"cid","tokenId","network","timestamp"},"holders","legs"}
// then one line per leg, in account order (allocation.ts): {"account","amount"}.
import { isAmount } from '../identifiers.ts';
import { readLedgerSnapshot } from '../ledger/snapshot-content.ts';
import type { IpfsStore } from '../snapshots/ipfs-store.ts';
import { isLedgerRecord } from '../snapshots/ledger-snapshots.ts';
import { readSnapshot, textLines } from '../snapshots/snapshot-format.ts';
import type { SnapshotRecord } from '../snapshots/store/metadata-store.ts';
import { allocate, compareAccounts, type AllocationHolder, type AllocationRule, type Leg } from './allocation.ts';
import { AirdropSourceUnsupportedError, InvalidAirdropPlanError } from './errors.ts';
import type { AirdropFilters, AirdropRuleName } from './store/airdrop-store.ts';

export const planFormat = 'tally-airdrop';
export const planVersion = 1;
/** Leg lines gathered into one chunk of output. */
const linesPerChunk = 1_000;
const lineCharsMax = 64 * 1024;

export interface PlanSnapshot {
  cid: string;
  /** The snapshot's token: a Hedera token id, or a Tally symbol for a ledger snapshot. */
  tokenId: string;
  network: string;
  /** The consensus timestamp (Hedera) or event id (ledger) the snapshot is consistent at. */
  timestamp: string | null;
}

export interface PlanHeader {
  plan: typeof planFormat;
  version: typeof planVersion;
  symbol: string;
  from: string;
  rule: AirdropRuleName;
  /** `fixed`: each leg's amount; null for `proRata`. */
  amount: string | null;
  /** What the legs sum to. */
  total: string;
  filters: AirdropFilters | null;
  snapshot: PlanSnapshot;
  /** Holders the rule was applied to (after the filters and leaving `from` out). */
  holders: number;
  legs: number;
}

export interface ComputedPlan {
  header: PlanHeader;
  legs: Leg[];
}

/** The filters in their canonical form: exclude deduplicated and in account order; null when none. */
export function canonicalFilters(filters: { minBalance?: string | undefined; exclude?: readonly string[] | undefined } | null | undefined): AirdropFilters | null {
  if (!filters) return null;
  const out: AirdropFilters = {};
  if (filters.minBalance !== undefined) out.minBalance = filters.minBalance;
  if (filters.exclude !== undefined && filters.exclude.length > 0) out.exclude = [...new Set(filters.exclude)].sort(compareAccounts);
  return Object.keys(out).length === 0 ? null : out;
}

/**
 * Every holder of a completed snapshot with its balance (an NFT holder's balance is its count of
 * serials). A combination of tokens holds one balance per token: refused.
 */
export async function snapshotHolders(ipfs: IpfsStore, record: SnapshotRecord & { cid: string }): Promise<AllocationHolder[]> {
  if (record.combination) {
    throw new AirdropSourceUnsupportedError(`snapshot ${record.snapshotId} is a combination of tokens (one balance per token); airdrop from a snapshot of one token, with filters if need be`);
  }
  const holders: AllocationHolder[] = [];
  const source = isLedgerRecord(record) ? (await readLedgerSnapshot(ipfs.cat(record.cid))).holders : (await readSnapshot(ipfs.cat(record.cid))).holders;
  for await (const holder of source) holders.push({ account: holder.account, balance: BigInt(holder.balance) });
  return holders;
}

/** The holders the rule applies to: at least minBalance, not excluded, and not the paying account itself. */
export function eligibleHolders(holders: readonly AllocationHolder[], filters: AirdropFilters | null, from: string): AllocationHolder[] {
  const min = filters?.minBalance === undefined ? 0n : BigInt(filters.minBalance);
  const excluded = new Set(filters?.exclude ?? []);
  return holders.filter((h) => h.balance > 0n && h.balance >= min && !excluded.has(h.account) && h.account !== from);
}

/** The plan: the legs of the rule over the eligible holders, and its header. Throws AIRDROP_PAYS_NOTHING. */
export function computePlan(input: { symbol: string; from: string; rule: AllocationRule; filters: AirdropFilters | null; snapshot: PlanSnapshot; holders: readonly AllocationHolder[] }): ComputedPlan {
  const eligible = eligibleHolders(input.holders, input.filters, input.from);
  const legs = allocate(eligible, input.rule);
  const total = legs.reduce((sum, leg) => sum + leg.amount, 0n);
  return {
    header: {
      plan: planFormat, version: planVersion, symbol: input.symbol, from: input.from, rule: input.rule.rule,
      amount: input.rule.rule === 'fixed' ? String(input.rule.amount) : null, total: String(total), filters: input.filters,
      snapshot: { cid: input.snapshot.cid, tokenId: input.snapshot.tokenId, network: input.snapshot.network, timestamp: input.snapshot.timestamp },
      holders: eligible.length, legs: legs.length,
    },
    legs,
  };
}

/** Line 1, keys in the documented order whatever order the object was built in. */
export function planHeaderLine(h: PlanHeader): string {
  const filters = h.filters === null ? null : {
    ...(h.filters.minBalance !== undefined ? { minBalance: h.filters.minBalance } : {}),
    ...(h.filters.exclude !== undefined ? { exclude: h.filters.exclude } : {}),
  };
  return `${JSON.stringify({
    plan: h.plan, version: h.version, symbol: h.symbol, from: h.from, rule: h.rule, amount: h.amount, total: h.total, filters,
    snapshot: { cid: h.snapshot.cid, tokenId: h.snapshot.tokenId, network: h.snapshot.network, timestamp: h.snapshot.timestamp },
    holders: h.holders, legs: h.legs,
  })}\n`;
}

/** One leg line; accounts follow the account rule (no character JSON would escape). */
export const legLine = (leg: Leg): string => `{"account":"${leg.account}","amount":"${leg.amount}"}\n`;

/** The plan's bytes, a thousand lines per chunk. */
export function* encodePlan(plan: ComputedPlan): Generator<Uint8Array> {
  let text = planHeaderLine(plan.header);
  for (let i = 0; i < plan.legs.length; i++) {
    text += legLine(plan.legs[i]!);
    if ((i + 1) % linesPerChunk === 0) { yield Buffer.from(text); text = ''; }
  }
  if (text !== '') yield Buffer.from(text);
}

const legLinePattern = /^\{"account":"([A-Za-z0-9][A-Za-z0-9._:@-]{0,127})","amount":"([1-9][0-9]{0,77})"\}$/;

function parseHeader(line: string | undefined): PlanHeader {
  let h: Partial<PlanHeader> | null = null;
  try { h = line === undefined ? null : JSON.parse(line) as Partial<PlanHeader>; } catch { /* below */ }
  if (h === null || typeof h !== 'object' || h.plan !== planFormat || h.version !== planVersion || typeof h.symbol !== 'string'
    || typeof h.from !== 'string' || (h.rule !== 'fixed' && h.rule !== 'proRata') || !isAmount(h.total)
    || !Number.isSafeInteger(h.legs) || !Number.isSafeInteger(h.holders) || typeof h.snapshot?.cid !== 'string') {
    throw new InvalidAirdropPlanError('line 1 is not the header of an airdrop plan');
  }
  return h as PlanHeader;
}

/** The header and the legs of stored plan bytes, legs read lazily (checked line by line). */
export async function readPlan(content: AsyncIterable<Uint8Array>): Promise<{ header: PlanHeader; legs: AsyncGenerator<Leg> }> {
  const lines = textLines(content, lineCharsMax);
  let first: IteratorResult<string>;
  try {
    first = await lines.next();
  } catch (error) {
    if ((error as { code?: string }).code === 'INVALID_SNAPSHOT_CONTENT') throw new InvalidAirdropPlanError('the plan is not NDJSON');
    throw error;
  }
  const header = parseHeader(first.done ? undefined : first.value);
  const legs = (async function* () {
    let number = 1;
    for await (const line of lines) {
      number += 1;
      const match = legLinePattern.exec(line);
      if (!match) throw new InvalidAirdropPlanError(`line ${number} of the plan is not a leg`);
      yield { account: match[1]!, amount: BigInt(match[2]!) };
    }
  })();
  return { header, legs };
}
