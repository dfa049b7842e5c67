// From a request to a Hedera airdrop plan (docs/hedera-airdrops.md): every input checked first,
// then the snapshot (completed, of one Hedera token, of the configured network), the token's
// terms on the mirror node, the legs (allocation.ts, the rule the Tally airdrop follows too),
// int64, and the sender's live balance; only then are transactions built. Nothing is written
// here: a refused request leaves no plan file, because the caller writes only what this returns.
//
// What is checked against the token (mirror node `GET /api/v1/tokens/{id}`): it is fungible, not
// deleted and not paused (HEDERA_TOKEN_UNSUITABLE); when it has custom fees, the sender must be its
// treasury, since HIP-904 charges every other sender the fees and their assessed transfers may
// break the transaction's limits (HEDERA_SENDER_NOT_TREASURY); the sender's live balance
// (`/tokens/{id}/balances?account.id=eq:`) must cover the plan's total (HEDERA_SENDER_SHORT).
import { TallyError } from '../../errors.ts';
import { isAmount } from '../../identifiers.ts';
import { applyFilters } from '../../snapshots/filters.ts';
import { parseEntityId, type HederaNetwork } from '../../snapshots/hedera-ids.ts';
import type { IpfsStore } from '../../snapshots/ipfs-store.ts';
import type { MirrorReader } from '../../snapshots/mirror/client.ts';
import { completedRecord } from '../../snapshots/products.ts';
import { readSnapshot } from '../../snapshots/snapshot-format.ts';
import { checkFilters, excludeAccountsMax, type SnapshotStore } from '../../snapshots/store/metadata-store.ts';
import { allocate, type AllocationHolder, type AllocationRule } from '../allocation.ts';
import { maxFeeTinybarDefault, nodesPerTransactionMax, validStartSpacingMsDefault } from './limits.ts';
import { readLiveBalance, readTokenTerms } from './mirror.ts';
import { buildPlan, checkInt64, HederaAmountError, type HederaAirdropPlan, type PlanRule, type Sdk } from './plan.ts';

export interface HederaAirdropRequest {
  network: HederaNetwork;
  snapshotId: string;
  tokenId: string;
  sender: string;
  /** Pays the fees and names the transaction ids; default the sender. */
  payer?: string;
  rule: PlanRule;
  /** The rule's amount is in tokens (`1.5`), converted with the token's decimals. */
  human?: boolean;
  minBalance?: string;
  /** Accounts to leave out; `treasury` is the snapshot token's treasury at the snapshot's timestamp. */
  exclude?: string[];
  nodeAccountIds: string[];
  /** `seconds.nanoseconds`. */
  validStart: string;
  validStartSpacingMs?: number;
  maxFeeTinybar?: bigint;
}

export interface PrepareDeps {
  sdk: Sdk;
  store: SnapshotStore;
  ipfs: IpfsStore;
  mirror: MirrorReader;
  signal?: AbortSignal;
}

/** A valid start later than this far ahead is surely a typo (earlier ones are fine: they rebuild an old plan's ids). */
const validStartAheadSecondsMax = 366 * 24 * 3600;
/** Hedera's first consensus (2019): no transaction id can start before it. */
const validStartSecondsMin = 1_546_300_800;

/** Canonical id, checksum checked against the network; INVALID_ENTITY_ID / INVALID_CHECKSUM. */
function entity(text: string, network: HederaNetwork): string {
  return parseEntityId(text, { network }).id;
}

/** The rule in base units: checked, and converted from tokens with the token's decimals when `human`. */
function baseUnitRule(request: HederaAirdropRequest, decimals: number): PlanRule {
  const amount = request.rule.rule === 'fixed' ? request.rule.amount : request.rule.total;
  const base = request.human ? toBaseUnits(String(amount), decimals) : amount;
  if (!isAmount(base)) throw new TallyError('INVALID_AMOUNT', `${request.rule.rule === 'fixed' ? '--fixed' : '--pro-rata'} must be a base-unit integer (or tokens with --human), got ${JSON.stringify(String(amount).slice(0, 80))}`);
  if (BigInt(base) === 0n) throw new TallyError('AIRDROP_PAYS_NOTHING', `a ${request.rule.rule} airdrop of 0 pays no one`);
  return request.rule.rule === 'fixed' ? { rule: 'fixed', amount: base } : { rule: 'proRata', total: base };
}

function checkRequest(request: HederaAirdropRequest): void {
  if (!/^\d{1,10}\.\d{9}$/.test(request.validStart)) throw new TallyError('INVALID_TIMESTAMP', `valid start ${request.validStart.slice(0, 40)} is not seconds.nanoseconds`);
  const nowSeconds = Math.floor(Date.now() / 1000);
  const startSeconds = Number(request.validStart.split('.')[0]);
  if (startSeconds < validStartSecondsMin || startSeconds - nowSeconds > validStartAheadSecondsMax) throw new TallyError('INVALID_TIMESTAMP', 'the valid start must lie between 2019 and a year from now');
  const spacing = request.validStartSpacingMs ?? validStartSpacingMsDefault;
  if (!Number.isSafeInteger(spacing) || spacing < 1 || spacing > 3_600_000) throw new TallyError('INVALID_ARGUMENT', 'the valid start spacing must be 1..3600000 ms');
  if (request.nodeAccountIds.length < 1 || request.nodeAccountIds.length > nodesPerTransactionMax) throw new TallyError('INVALID_ARGUMENT', `give 1..${nodesPerTransactionMax} node account ids`);
  if ((request.exclude ?? []).length > excludeAccountsMax) throw new TallyError('INVALID_ARGUMENT', `--exclude names at most ${excludeAccountsMax} accounts`);
}

/** The snapshot's holders after the filters, without the sender (it never pays itself). */
async function holdersOf(deps: PrepareDeps, request: HederaAirdropRequest, sender: string): Promise<{ holders: AllocationHolder[]; snapshot: HederaAirdropPlan['snapshot']; filters: HederaAirdropPlan['filters'] }> {
  const record = await completedRecord(deps.store, request.snapshotId);
  if (record.combination) throw new TallyError('INVALID_ARGUMENT', `snapshot ${record.snapshotId} is a combination of tokens; airdrop from the snapshot of one token`);
  if (record.network !== request.network) throw new TallyError('INVALID_ARGUMENT', `snapshot ${record.snapshotId} holds ${record.network} accounts; this airdrop is on ${request.network}`);
  const filters = checkFilters({ ...(request.minBalance !== undefined ? { minBalance: request.minBalance } : {}), ...(request.exclude !== undefined ? { exclude: request.exclude } : {}) });
  const needsTreasury = (filters.exclude ?? []).includes('treasury');
  const snapshotToken = needsTreasury ? await readTokenTerms(deps.mirror, record.tokenId, deps.signal, record.consensusTimestamp ?? undefined) : null;
  const applied = applyFilters(filters, { tokenId: record.tokenId, type: snapshotToken?.type ?? 'FUNGIBLE_COMMON', treasury: snapshotToken?.treasury ?? null });
  const { holders } = await readSnapshot(deps.ipfs.cat(record.cid, deps.signal ? { signal: deps.signal } : {}));
  const kept: AllocationHolder[] = [];
  for await (const holder of holders) {
    if (holder.account !== sender && applied.keep(holder)) kept.push({ account: holder.account, balance: BigInt(holder.balance) });
  }
  return {
    holders: kept,
    snapshot: { snapshotId: record.snapshotId, cid: record.cid, tokenId: record.tokenId, consensusTimestamp: record.consensusTimestamp ?? '' },
    filters: applied.header ?? {},
  };
}

export async function prepareHederaAirdrop(deps: PrepareDeps, request: HederaAirdropRequest): Promise<HederaAirdropPlan> {
  const { network } = request;
  const tokenId = entity(request.tokenId, network);
  const sender = entity(request.sender, network);
  const payer = entity(request.payer ?? request.sender, network);
  const nodeAccountIds = request.nodeAccountIds.map((id) => entity(id, network));
  checkRequest(request);
  const terms = await readTokenTerms(deps.mirror, tokenId, deps.signal);
  if (terms.type !== 'FUNGIBLE_COMMON') throw new TallyError('HEDERA_TOKEN_UNSUITABLE', `token ${tokenId} is ${terms.type}; a plan airdrops a fungible token`);
  if (terms.deleted) throw new TallyError('HEDERA_TOKEN_UNSUITABLE', `token ${tokenId} is deleted`);
  if (terms.pauseStatus === 'PAUSED') throw new TallyError('HEDERA_TOKEN_UNSUITABLE', `token ${tokenId} is paused: no transfer of it can succeed`);
  if (terms.customFees > 0 && terms.treasury !== sender) {
    throw new TallyError('HEDERA_SENDER_NOT_TREASURY', `token ${tokenId} has ${terms.customFees} custom fee(s): only its treasury ${terms.treasury ?? '(none)'} sends it without fees, not ${sender}`);
  }
  const planRule = baseUnitRule(request, terms.decimals);
  checkInt64(planRule, []);
  const { holders, snapshot, filters } = await holdersOf(deps, request, sender);
  const rule: AllocationRule = planRule.rule === 'fixed' ? { rule: 'fixed', amount: BigInt(planRule.amount) } : { rule: 'proRata', total: BigInt(planRule.total) };
  const legs = allocate(holders, rule);
  checkInt64(planRule, legs);
  const total = legs.reduce((sum, leg) => sum + leg.amount, 0n);
  const balance = await readLiveBalance(deps.mirror, tokenId, sender, deps.signal);
  if (balance < total) throw new TallyError('HEDERA_SENDER_SHORT', `the plan pays ${total} base units to ${legs.length} holders; ${sender} holds ${balance} of token ${tokenId}`);
  return buildPlan(deps.sdk, {
    network, tokenId, decimals: terms.decimals, sender, payer, rule: planRule, filters, snapshot, legs, nodeAccountIds,
    validStart: request.validStart, validStartSpacingMs: request.validStartSpacingMs ?? validStartSpacingMsDefault,
    maxFeeTinybar: request.maxFeeTinybar ?? maxFeeTinybarDefault,
  });
}

/**
 * A human amount (`1.5`) in base units with the token's decimals, exactly; refused when it has
 * more decimal places than the token (HEDERA_AMOUNT_OUT_OF_RANGE).
 */
export function toBaseUnits(text: string, decimals: number): string {
  const match = /^(0|[1-9]\d{0,77})(?:\.(\d{1,78}))?$/.exec(text);
  if (!match) throw new TallyError('INVALID_AMOUNT', `${JSON.stringify(text.slice(0, 80))} is not a decimal amount`);
  const fraction = match[2] ?? '';
  if (fraction.replace(/0+$/, '').length > decimals) throw new HederaAmountError(`${text} has more decimal places than the token's ${decimals}`);
  return (BigInt(match[1]!) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0').slice(0, decimals) || '0')).toString();
}
