// The Hedera airdrop plan (docs/hedera-airdrops.md): the legs of an airdrop cut into
// TokenAirdropTransactions within HIP-904's limits (limits.ts), each with its own transaction id
// (payer and a valid start spaced from the plan's start, so ids are distinct and the same inputs
// give the same ids), node account ids and expected decimals, frozen and serialized, so that a
// treasury can sign the bytes offline or with multi-sig. `verifyPlan` decodes every transaction
// back and checks it against the legs and ids the plan records, and every signature against the
// body bytes: a plan file edited by hand, or one whose bytes were swapped, fails before anything
// is submitted. @hashgraph/sdk is passed in (`Sdk`), loaded by the caller only when needed.
import { TallyError } from '../../errors.ts';
import type { HederaNetwork } from '../../snapshots/hedera-ids.ts';
import type { Leg } from '../allocation.ts';
import {
  bodyBytesMax, int64Max, legsPerTransactionMax, nodesPerTransactionMax, planTransactionsMax, validDurationSecondsMax,
} from './limits.ts';

export type Sdk = typeof import('@hashgraph/sdk');
type SdkTransaction = InstanceType<Sdk['Transaction']>;
type SdkPrivateKey = InstanceType<Sdk['PrivateKey']>;

export const planFormat = 'tally.hedera-airdrop-plan.v1';

export type PlanRule = { rule: 'fixed'; amount: string } | { rule: 'proRata'; total: string };

export interface PlanSnapshot { snapshotId: string; cid: string; tokenId: string; consensusTimestamp: string }

export type PlanTransactionStatus = 'planned' | 'submitted' | 'executed' | 'failed' | 'expired';

export interface PlanReceipt {
  /** SUCCESS, or the network's failure status. */
  status: string;
  consensusTimestamp: string | null;
  /** `network`: the receipt of our own submission; `mirror`: found on the mirror node (an earlier run). */
  source: 'network' | 'mirror';
  at: string;
}

export interface PlanTransaction {
  index: number;
  /** The SDK's form, `0.0.P@seconds.nanoseconds`. */
  transactionId: string;
  /** The mirror node's form, `0.0.P-seconds-nanoseconds`. */
  mirrorTransactionId: string;
  validStart: string;
  legs: Array<{ account: string; amount: string }>;
  /** What the sender is debited: the sum of the legs. */
  debit: string;
  /** The frozen transaction (TransactionList protobuf, one signed copy per node), base64. */
  bytes: string;
  /** DER public keys whose signatures the bytes carry. */
  signers: string[];
  status: PlanTransactionStatus;
  receipt: PlanReceipt | null;
}

export interface HederaAirdropPlan {
  format: typeof planFormat;
  network: HederaNetwork;
  tokenId: string;
  decimals: number;
  sender: string;
  payer: string;
  rule: PlanRule;
  filters: { minBalance?: string; exclude?: string[] };
  snapshot: PlanSnapshot;
  legCount: number;
  total: string;
  nodeAccountIds: string[];
  validStart: string;
  validStartSpacingMs: number;
  validDurationSeconds: number;
  maxFeeTinybar: string;
  memo: string;
  transactions: PlanTransaction[];
}

/** What a plan is built from: the airdrop as the plan records it, the legs, and the fee cap. `validStart` is the first transaction's. */
export type PlanInput = Pick<HederaAirdropPlan, 'network' | 'tokenId' | 'decimals' | 'sender' | 'payer' | 'rule' | 'filters' | 'snapshot'
  | 'nodeAccountIds' | 'validStart' | 'validStartSpacingMs'> & { legs: readonly Leg[]; maxFeeTinybar: bigint };

export class HederaAmountError extends TallyError {
  constructor(message: string) { super('HEDERA_AMOUNT_OUT_OF_RANGE', message); }
}

export class PlanMismatchError extends TallyError {
  constructor(message: string) { super('HEDERA_PLAN_MISMATCH', message); }
}

/** The legs in transactions of at most legsPerTransactionMax, in account order. */
export function chunkLegs<T>(legs: readonly T[]): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < legs.length; i += legsPerTransactionMax) chunks.push(legs.slice(i, i + legsPerTransactionMax));
  return chunks;
}

/** Refuses what int64 cannot carry: the rule's amount or total, any leg, any transaction's debit. */
export function checkInt64(rule: PlanRule, legs: readonly Leg[]): void {
  const ruleAmount = BigInt(rule.rule === 'fixed' ? rule.amount : rule.total);
  if (ruleAmount > int64Max) throw new HederaAmountError(`the ${rule.rule === 'fixed' ? 'amount' : 'total'} ${ruleAmount} is above int64's 9223372036854775807, the most a Hedera amount can be`);
  for (const chunk of chunkLegs(legs)) {
    const debit = chunk.reduce((sum, leg) => sum + leg.amount, 0n);
    if (debit > int64Max) throw new HederaAmountError(`one transaction would debit the sender ${debit} (${chunk.length} legs of the fixed amount), above int64's ${int64Max}`);
  }
}

/** `seconds.nanoseconds` plus `ms`, as seconds and nanoseconds. */
function validStartOf(start: string, offsetMs: number): { seconds: bigint; nanos: number; text: string } {
  const [s, n = ''] = start.split('.');
  const total = BigInt(s!) * 1_000_000_000n + BigInt(n.padEnd(9, '0')) + BigInt(offsetMs) * 1_000_000n;
  const seconds = total / 1_000_000_000n;
  const nanos = Number(total % 1_000_000_000n);
  return { seconds, nanos, text: `${seconds}.${String(nanos).padStart(9, '0')}` };
}

/** Builds and freezes every transaction of the plan; signs each with `key` when given. */
export async function buildPlan(sdk: Sdk, input: PlanInput, key?: SdkPrivateKey): Promise<HederaAirdropPlan> {
  checkInt64(input.rule, input.legs);
  const chunks = chunkLegs(input.legs);
  if (chunks.length > planTransactionsMax) throw new TallyError('INVALID_ARGUMENT', `the airdrop needs ${chunks.length} transactions; a plan holds at most ${planTransactionsMax}`);
  if (input.nodeAccountIds.length < 1 || input.nodeAccountIds.length > nodesPerTransactionMax) throw new TallyError('INVALID_ARGUMENT', `give 1..${nodesPerTransactionMax} node account ids`);
  const memo = `tally airdrop ${input.snapshot.snapshotId.slice(0, 8)}`;
  const transactions: PlanTransaction[] = [];
  for (const [index, chunk] of chunks.entries()) {
    const start = validStartOf(input.validStart, index * input.validStartSpacingMs);
    const debit = chunk.reduce((sum, leg) => sum + leg.amount, 0n);
    const tx = new sdk.TokenAirdropTransaction();
    for (const leg of chunk) tx.addTokenTransferWithDecimals(input.tokenId, leg.account, leg.amount, input.decimals);
    tx.addTokenTransferWithDecimals(input.tokenId, input.sender, -debit, input.decimals);
    tx.setTransactionId(sdk.TransactionId.withValidStart(sdk.AccountId.fromString(input.payer), new sdk.Timestamp(Number(start.seconds), start.nanos)))
      .setNodeAccountIds(input.nodeAccountIds.map((id) => sdk.AccountId.fromString(id)))
      .setTransactionValidDuration(validDurationSecondsMax)
      .setMaxTransactionFee(sdk.Hbar.fromTinybars(input.maxFeeTinybar.toString()))
      .setTransactionMemo(`${memo} ${index + 1}/${chunks.length}`)
      .setRegenerateTransactionId(false)
      .freeze();
    if (tx.bodySize > bodyBytesMax) throw new TallyError('INVALID_ARGUMENT', `transaction ${index + 1} has a ${tx.bodySize}-byte body, above the ${bodyBytesMax} bytes a plan allows`);
    if (key) await tx.sign(key);
    transactions.push({
      index, transactionId: `${input.payer}@${start.text}`, mirrorTransactionId: `${input.payer}-${start.seconds}-${String(start.nanos).padStart(9, '0')}`,
      validStart: start.text, legs: chunk.map((leg) => ({ account: leg.account, amount: leg.amount.toString() })), debit: debit.toString(),
      bytes: Buffer.from(tx.toBytes()).toString('base64'), signers: key ? [key.publicKey.toStringDer()] : [], status: 'planned', receipt: null,
    });
  }
  return {
    format: planFormat, network: input.network, tokenId: input.tokenId, decimals: input.decimals, sender: input.sender, payer: input.payer,
    rule: input.rule, filters: input.filters, snapshot: input.snapshot, legCount: input.legs.length,
    total: input.legs.reduce((sum, leg) => sum + leg.amount, 0n).toString(), nodeAccountIds: input.nodeAccountIds,
    validStart: input.validStart, validStartSpacingMs: input.validStartSpacingMs, validDurationSeconds: validDurationSecondsMax,
    maxFeeTinybar: input.maxFeeTinybar.toString(), memo, transactions,
  };
}

/** Adds `key`'s signature to every transaction not yet executed (a signature already there is kept once). */
export async function signPlan(sdk: Sdk, plan: HederaAirdropPlan, key: SdkPrivateKey): Promise<void> {
  const publicKey = key.publicKey.toStringDer();
  for (const entry of plan.transactions) {
    if (entry.signers.includes(publicKey) || entry.status === 'executed') continue;
    const tx = sdk.Transaction.fromBytes(Buffer.from(entry.bytes, 'base64'));
    await tx.sign(key);
    entry.bytes = Buffer.from(tx.toBytes()).toString('base64');
    entry.signers.push(publicKey);
  }
}

/** The decoded transaction of a plan entry, checked against what the entry records; throws HEDERA_PLAN_MISMATCH. */
export function decodePlanTransaction(sdk: Sdk, plan: HederaAirdropPlan, entry: PlanTransaction): SdkTransaction {
  const where = `plan transaction ${entry.index + 1} (${entry.transactionId})`;
  let tx: SdkTransaction;
  try { tx = sdk.Transaction.fromBytes(Buffer.from(entry.bytes, 'base64')); } catch (error) { throw new PlanMismatchError(`${where}: its bytes are not a transaction (${(error as Error).message})`); }
  if (!(tx instanceof sdk.TokenAirdropTransaction)) throw new PlanMismatchError(`${where}: its bytes are a ${tx.constructor.name}, not a TokenAirdropTransaction`);
  if (tx.transactionId?.toString() !== entry.transactionId) throw new PlanMismatchError(`${where}: its bytes carry transaction id ${tx.transactionId?.toString()}`);
  const nodes = tx.nodeAccountIds?.map(String) ?? [];
  if (nodes.join(',') !== plan.nodeAccountIds.join(',')) throw new PlanMismatchError(`${where}: its bytes name nodes ${nodes.join(',')}, the plan ${plan.nodeAccountIds.join(',')}`);
  const expected = new Map(entry.legs.map((leg) => [leg.account, leg.amount]));
  expected.set(plan.sender, `-${entry.debit}`);
  const transfers = [...tx.tokenTransfers];
  const got = new Map([...(transfers[0]?.[1] ?? new Map())].map(([account, amount]) => [String(account), amount.toString()]));
  const same = transfers.length === 1 && String(transfers[0]![0]) === plan.tokenId && got.size === expected.size && [...expected].every(([a, v]) => got.get(a) === v);
  if (!same) throw new PlanMismatchError(`${where}: its transfers are not the plan's legs`);
  if (tx.tokenIdDecimals.get(plan.tokenId) !== plan.decimals) throw new PlanMismatchError(`${where}: its expected decimals are not the token's ${plan.decimals}`);
  if (tx.nftTransfers.size !== 0) throw new PlanMismatchError(`${where}: it moves NFTs`);
  return tx;
}

/**
 * Checks every transaction of the plan against its record and every signature against the body
 * bytes it signs; returns the decoded transactions. The legs must sum to the plan's total.
 */
export function verifyPlan(sdk: Sdk, plan: HederaAirdropPlan): SdkTransaction[] {
  let total = 0n;
  let legs = 0;
  const decoded = plan.transactions.map((entry, i) => {
    if (entry.index !== i) throw new PlanMismatchError(`plan transaction ${i + 1} records index ${entry.index}`);
    if (entry.legs.length < 1 || entry.legs.length > legsPerTransactionMax) throw new PlanMismatchError(`plan transaction ${i + 1} has ${entry.legs.length} legs (1..${legsPerTransactionMax})`);
    const sum = entry.legs.reduce((s, leg) => s + BigInt(leg.amount), 0n);
    if (sum.toString() !== entry.debit) throw new PlanMismatchError(`plan transaction ${i + 1}: its legs sum to ${sum}, its debit says ${entry.debit}`);
    total += sum;
    legs += entry.legs.length;
    const tx = decodePlanTransaction(sdk, plan, entry);
    checkSignatures(sdk, tx, entry);
    return tx;
  });
  if (total.toString() !== plan.total || legs !== plan.legCount) throw new PlanMismatchError(`the plan's transactions pay ${legs} legs, ${total} in all; it records ${plan.legCount} legs, ${plan.total}`);
  return decoded;
}

/** Every signature of every node's copy verifies over that copy's body bytes, and the signers are the ones recorded. */
function checkSignatures(sdk: Sdk, tx: SdkTransaction, entry: PlanTransaction): void {
  for (const signed of tx._signedTransactions.list) {
    const body = signed.bodyBytes;
    const pairs = signed.sigMap?.sigPair ?? [];
    if (!body) throw new PlanMismatchError(`plan transaction ${entry.index + 1}: a copy has no body`);
    const keys = new Set<string>();
    for (const pair of pairs) {
      const signature = pair.ed25519 ?? pair.ECDSASecp256k1;
      if (!pair.pubKeyPrefix || !signature) throw new PlanMismatchError(`plan transaction ${entry.index + 1}: a signature without its full public key`);
      const publicKey = pair.ed25519 ? sdk.PublicKey.fromBytesED25519(pair.pubKeyPrefix) : sdk.PublicKey.fromBytesECDSA(pair.pubKeyPrefix);
      if (!publicKey.verify(body, signature)) throw new PlanMismatchError(`plan transaction ${entry.index + 1}: the signature of ${publicKey.toStringDer()} does not verify`);
      keys.add(publicKey.toStringDer());
    }
    if ([...keys].sort().join(',') !== [...entry.signers].sort().join(',')) throw new PlanMismatchError(`plan transaction ${entry.index + 1}: signed by ${[...keys].join(', ') || 'no one'}, the plan records ${entry.signers.join(', ') || 'no one'}`);
  }
}

/** A private key as `--operator-key` or HEDERA_OPERATOR_KEY give it: DER hex, or `ed25519:` / `ecdsa:` and the raw hex. */
export function parsePrivateKey(sdk: Sdk, text: string): SdkPrivateKey {
  const bad = () => new TallyError('INVALID_ARGUMENT', 'the private key must be DER hex (302e... ED25519, 3030... ECDSA) or ed25519:<hex> / ecdsa:<hex>; the value is not shown');
  const match = /^(?:(ed25519|ecdsa):)?(?:0x)?([0-9a-fA-F]{64,200})$/.exec(text.trim());
  if (!match) throw bad();
  try {
    if (match[1] === 'ed25519') return sdk.PrivateKey.fromStringED25519(match[2]!);
    if (match[1] === 'ecdsa') return sdk.PrivateKey.fromStringECDSA(match[2]!);
    if (match[2]!.length === 64) throw bad(); // raw 32 bytes could be either curve
    return sdk.PrivateKey.fromStringDer(match[2]!);
  } catch (error) {
    if (error instanceof TallyError) throw error;
    throw bad();
  }
}
