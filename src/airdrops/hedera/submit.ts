// `--submit` (docs/hedera-airdrops.md, What --submit guarantees): the plan's transactions are sent
// one at a time, in order, each only after the mirror node has been asked whether its
// transaction id already reached consensus (`GET /api/v1/transactions/{id}`); every outcome is
// written to the plan file before the next transaction is looked at. A transaction id executes at
// most once on Hedera (the network refuses a second copy as DUPLICATE_TRANSACTION while the id is
// valid, and nothing after its valid window), and the bytes are sent as frozen, with the id
// locked (no regenerated id on TRANSACTION_EXPIRED): so a rerun after a crash, a timeout or a
// kill never pays a leg twice. The first failure stops the run; the plan says where.
import { TallyError } from '../../errors.ts';
import { sleep as sleepMs } from '../../time.ts';
import type { ExecutedTransaction } from './mirror.ts';
import type { HederaAirdropPlan, PlanReceipt, PlanTransaction, Sdk } from './plan.ts';

export type SendResult = { status: string; consensusTimestamp: string | null } | 'duplicate';

export interface SubmitDeps {
  lookup(mirrorTransactionId: string): Promise<ExecutedTransaction | null>;
  /** Sends one transaction and waits for its receipt. */
  send(entry: PlanTransaction): Promise<SendResult>;
  /** Called before the first send; throws when nothing can be sent (no operator), before anything is marked submitted. */
  readyToSend?(): void;
  /** Persists the plan (called after every change of a transaction's status). */
  save(plan: HederaAirdropPlan): void;
  nowMs?(): number;
  sleep?(ms: number): Promise<void>;
  /** How long after a transaction's window (or a DUPLICATE answer) the mirror node is given to show it. */
  mirrorLagMs?: number;
  pollMs?: number;
  /** A transaction that starts later than this from now ends the run (NOT_READY) instead of a wait. */
  waitForStartMaxMs?: number;
  onProgress?(entry: PlanTransaction, outcome: 'executed' | 'already-executed' | 'skipped'): void;
}

export interface SubmitSummary {
  /** Executed by this run. */
  submitted: number;
  /** Found executed on the mirror node (an earlier run), or already recorded so in the plan. */
  alreadyExecuted: number;
}

const mirrorLagMsDefault = 60_000;
const pollMsDefault = 2_000;
const waitForStartMaxMsDefault = 10 * 60_000;
/** Sent this long after the valid start, so that a node whose clock lags a little does not answer INVALID_TRANSACTION_START. */
const startMarginMs = 1_000;

export class TransactionFailedError extends TallyError {
  constructor(message: string) { super('HEDERA_TRANSACTION_FAILED', message); }
}

function startMsOf(entry: PlanTransaction): number {
  const [s, n] = entry.validStart.split('.');
  return Number(s) * 1000 + Math.floor(Number(n) / 1_000_000);
}

export async function submitPlan(plan: HederaAirdropPlan, deps: SubmitDeps): Promise<SubmitSummary> {
  const now = deps.nowMs ?? Date.now;
  const sleep = deps.sleep ?? sleepMs;
  const mirrorLagMs = deps.mirrorLagMs ?? mirrorLagMsDefault;
  const pollMs = deps.pollMs ?? pollMsDefault;
  const summary: SubmitSummary = { submitted: 0, alreadyExecuted: 0 };

  const record = (entry: PlanTransaction, receipt: Omit<PlanReceipt, 'at'>): void => {
    entry.receipt = { ...receipt, at: new Date(now()).toISOString() };
    entry.status = receipt.status === 'SUCCESS' ? 'executed' : 'failed';
    deps.save(plan);
    if (entry.status === 'failed') throw new TransactionFailedError(`transaction ${entry.index + 1} (${entry.transactionId}) reached consensus as ${receipt.status}; the plan stops there`);
  };
  /** Polls the mirror node until `deadlineMs`; null when the transaction never showed up. */
  const waitForMirror = async (entry: PlanTransaction, deadlineMs: number): Promise<ExecutedTransaction | null> => {
    for (let polls = 0; polls < 10_000; polls++) {
      const found = await deps.lookup(entry.mirrorTransactionId);
      if (found || now() >= deadlineMs) return found;
      await sleep(Math.min(pollMs, Math.max(0, deadlineMs - now())));
    }
    return null;
  };

  for (const entry of plan.transactions) {
    if (entry.status === 'executed') { summary.alreadyExecuted += 1; deps.onProgress?.(entry, 'already-executed'); continue; }
    if (entry.status === 'failed' || entry.status === 'expired') {
      throw new TransactionFailedError(`transaction ${entry.index + 1} (${entry.transactionId}) is recorded ${entry.status}${entry.receipt ? ` (${entry.receipt.status})` : ''}; its legs and the ones after it need a new plan`);
    }
    const known = await deps.lookup(entry.mirrorTransactionId);
    if (known) {
      record(entry, { status: known.result, consensusTimestamp: known.consensusTimestamp, source: 'mirror' });
      summary.alreadyExecuted += 1;
      deps.onProgress?.(entry, 'already-executed');
      continue;
    }
    const startMs = startMsOf(entry);
    const endMs = startMs + plan.validDurationSeconds * 1000;
    if (now() >= endMs) {
      // Possibly sent by an earlier run and not yet on the mirror node.
      const late = await waitForMirror(entry, endMs + mirrorLagMs);
      if (late) { record(entry, { status: late.result, consensusTimestamp: late.consensusTimestamp, source: 'mirror' }); summary.alreadyExecuted += 1; continue; }
      entry.status = 'expired';
      deps.save(plan);
      throw new TransactionFailedError(`transaction ${entry.index + 1} (${entry.transactionId}) was valid until ${new Date(endMs).toISOString()} and did not execute; its legs and the ones after it need a new plan`);
    }
    const waitMs = startMs + startMarginMs - now();
    if (waitMs > (deps.waitForStartMaxMs ?? waitForStartMaxMsDefault)) {
      throw new TallyError('NOT_READY', `transaction ${entry.index + 1} becomes valid at ${new Date(startMs).toISOString()}; run --submit again then`);
    }
    deps.readyToSend?.();
    if (waitMs > 0) await sleep(waitMs);
    entry.status = 'submitted';
    deps.save(plan);
    const sent = await deps.send(entry);
    if (sent === 'duplicate') {
      const seen = await waitForMirror(entry, endMs + mirrorLagMs);
      if (!seen) throw new TallyError('MIRROR_UNAVAILABLE', `transaction ${entry.index + 1} was already submitted, and the mirror node does not show it yet; run --submit again later`);
      record(entry, { status: seen.result, consensusTimestamp: seen.consensusTimestamp, source: 'mirror' });
      summary.alreadyExecuted += 1;
    } else {
      record(entry, { status: sent.status, consensusTimestamp: sent.consensusTimestamp, source: 'network' });
      summary.submitted += 1;
    }
    deps.onProgress?.(entry, 'executed');
  }
  return summary;
}

export interface NetworkSenderOptions {
  network: HederaAirdropPlan['network'];
  operatorId: string;
  operatorKey: InstanceType<Sdk['PrivateKey']>;
  requestTimeoutMs: number;
}

/** Sends through @hashgraph/sdk's Client on the network, the operator paying and signing. */
export function networkSender(sdk: Sdk, options: NetworkSenderOptions): { send: SubmitDeps['send']; close(): void } {
  const client = sdk.Client.forName(options.network);
  client.setOperator(sdk.AccountId.fromString(options.operatorId), options.operatorKey);
  client.setRequestTimeout(options.requestTimeoutMs);
  client.setDefaultRegenerateTransactionId(false);
  return {
    async send(entry) {
      const tx = sdk.Transaction.fromBytes(Buffer.from(entry.bytes, 'base64'));
      // Locked ids are never regenerated (the SDK would make a new id on TRANSACTION_EXPIRED).
      (tx as unknown as { _transactionIds: { setLocked(): void } })._transactionIds.setLocked();
      try {
        const response = await tx.execute(client);
        if (response.transactionId.toString() !== entry.transactionId) throw new Error(`the SDK sent ${response.transactionId.toString()} for ${entry.transactionId}`);
        const receipt = await response.getReceipt(client);
        return { status: receipt.status.toString(), consensusTimestamp: null };
      } catch (error) {
        if (error instanceof sdk.ReceiptStatusError) return { status: error.status.toString(), consensusTimestamp: null };
        if (error instanceof sdk.PrecheckStatusError && error.status === sdk.Status.DuplicateTransaction) return 'duplicate';
        throw error;
      }
    },
    close: () => client.close(),
  };
}
