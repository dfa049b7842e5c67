// The airdrop service (docs/airdrops.md): a request (REST or `tally airdrop`) is checked, planned and
// stored before anything is paid; a runner (the `airdrop` Agenda job on a worker, or the CLI in
// its own process) then pays the plan (executor.ts).
//
// A request, in this order, each step refusing with nothing stored or paid: the input's shape
// (amounts 0..2^256-1, accounts), the token (TOKEN_NOT_FOUND; `from` defaults to its treasury),
// the idempotency key (the same request again answers the airdrop it made; another request
// under the key, OP_CONFLICT), the snapshot (SNAPSHOT_NOT_FOUND, NOT_READY,
// AIRDROP_SOURCE_UNSUPPORTED for a combination), the rule (AIRDROP_PAYS_NOTHING), the funds
// (INSUFFICIENT_FUNDS when `from` cannot cover the whole plan). Then the plan goes to IPFS, the
// record to the store (`pending`) and, with a scheduler, the job to Agenda.
import { createHash } from 'node:crypto';
import { TallyError } from '../errors.ts';
import { accountPattern, isAmount, symbolPattern } from '../identifiers.ts';
import type { Logger } from '../logger.ts';
import type { IpfsStore } from '../snapshots/ipfs-store.ts';
import type { Scheduler } from '../snapshots/jobs/scheduler.ts';
import type { JobContext, JobInfo } from '../snapshots/jobs/types.ts';
import { completedRecord } from '../snapshots/products.ts';
import { assertId, type SnapshotStore } from '../snapshots/store/metadata-store.ts';
import type { AllocationRule } from './allocation.ts';
import { AirdropInsufficientFundsError, AirdropKeyConflictError, AirdropNotFoundError, describeAirdropError } from './errors.ts';
import { progressOf, type AirdropEventSink } from './events.ts';
import { runAirdrop, type AirdropLedger } from './executor.ts';
import { canonicalFilters, computePlan, encodePlan, snapshotHolders } from './plan.ts';
import { chunkLegsMax, excludeAccountsMax, type AirdropQuery, type AirdropRecord, type AirdropRuleName, type AirdropStore } from './store/airdrop-store.ts';

export const airdropJobName = 'airdrop';
/** AIRDROP_CHUNK_LEGS's default: the most legs one ledger_transfer_batch takes. */
export const chunkLegsDefault = chunkLegsMax;

export interface AirdropRequest {
  symbol: string;
  snapshotId: string;
  /** Default: the token's treasury. */
  from?: string | undefined;
  rule: AirdropRuleName;
  /** `fixed`: what each holder gets. */
  amount?: string | undefined;
  /** `proRata`: what all holders get together. */
  total?: string | undefined;
  minBalance?: string | undefined;
  exclude?: readonly string[] | undefined;
  requestedBy: string | null;
  /**
   * The store key of the request (`rest:<hex>` from an Idempotency-Key, `cli:<hex>` from the CLI):
   * the same request under it again answers the same airdrop.
   */
  idempotencyKey?: string | undefined;
}

export interface AirdropServiceDeps {
  store: AirdropStore;
  /** Where the snapshot records are (the snapshot service's store). */
  snapshots: SnapshotStore;
  ipfs: IpfsStore;
  ledger: AirdropLedger;
  /** Absent: requests are not queued (the CLI runs them in its own process with run()). */
  scheduler?: Scheduler;
  events?: AirdropEventSink;
  logger?: Logger;
  /** Legs per ledger_transfer_batch (1..1000), recorded per airdrop. */
  chunkLegs?: number;
  chunkPauseMs?: number;
  attempts?: number;
  backoffMs?: number;
  /** How often a running job renews its lock. */
  keepAliveMs?: number;
}

export interface Requested {
  record: AirdropRecord;
  /** false: the idempotency key named an earlier airdrop, which is returned as it is. */
  created: boolean;
}

function invalid(code: 'INVALID_ARGUMENT' | 'INVALID_AMOUNT' | 'INVALID_ACCOUNT' | 'INVALID_TOKEN', message: string): never {
  throw new TallyError(code, message);
}

/** The request's shape, checked as REST checks a body (the CLI's arguments go through here too). */
export function checkAirdropRequest(input: AirdropRequest): AirdropRequest & { rule: AirdropRuleName } {
  if (typeof input.symbol !== 'string' || !symbolPattern.test(input.symbol)) invalid('INVALID_TOKEN', `symbol must match ${symbolPattern.source}`);
  assertId('snapshotId', input.snapshotId);
  if (input.from !== undefined && (typeof input.from !== 'string' || !accountPattern.test(input.from))) invalid('INVALID_ACCOUNT', `from must match ${accountPattern.source}`);
  const amount = (name: string, value: unknown, code: 'INVALID_AMOUNT' | 'INVALID_ARGUMENT' = 'INVALID_AMOUNT') => {
    if (value !== undefined && !isAmount(value)) invalid(code, `${name} must be a base-unit integer as a decimal string in 0..2^256-1, got ${JSON.stringify(String(value)).slice(0, 90)}`);
  };
  amount('amount', input.amount);
  amount('total', input.total);
  amount('minBalance', input.minBalance, 'INVALID_ARGUMENT'); // a filter, as a snapshot's minBalance
  if (input.rule === 'fixed') {
    if (input.amount === undefined || input.total !== undefined) invalid('INVALID_ARGUMENT', 'rule fixed takes amount (what each holder gets), not total');
  } else if (input.rule === 'proRata') {
    if (input.total === undefined || input.amount !== undefined) invalid('INVALID_ARGUMENT', 'rule proRata takes total (what all holders get together), not amount');
  } else {
    invalid('INVALID_ARGUMENT', 'rule must be fixed or proRata');
  }
  if (input.exclude !== undefined) {
    if (!Array.isArray(input.exclude) || input.exclude.length > excludeAccountsMax) invalid('INVALID_ARGUMENT', `exclude takes at most ${excludeAccountsMax} accounts`);
    const bad = input.exclude.find((a) => typeof a !== 'string' || !accountPattern.test(a));
    if (bad !== undefined) invalid('INVALID_ACCOUNT', `exclude: ${JSON.stringify(String(bad)).slice(0, 90)} does not match ${accountPattern.source}`);
  }
  return input;
}

/** What makes two requests the same request (the key's fingerprint): everything the plan depends on. */
export function requestFingerprint(parts: { symbol: string; snapshotId: string; from: string; rule: AllocationRule; filters: ReturnType<typeof canonicalFilters> }): string {
  const rule = parts.rule.rule === 'fixed' ? { rule: 'fixed', amount: String(parts.rule.amount) } : { rule: 'proRata', total: String(parts.rule.total) };
  return createHash('sha256').update(JSON.stringify([parts.symbol, parts.snapshotId, parts.from, rule, parts.filters])).digest('hex');
}

async function request(deps: AirdropServiceDeps, raw: AirdropRequest): Promise<Requested> {
  const { store, ledger } = deps;
  const input = checkAirdropRequest(raw);
  const info = await ledger.info(input.symbol); // TOKEN_NOT_FOUND
  const from = input.from ?? info.treasury;
  const rule: AllocationRule = input.rule === 'fixed' ? { rule: 'fixed', amount: BigInt(input.amount!) } : { rule: 'proRata', total: BigInt(input.total!) };
  const filters = canonicalFilters({ minBalance: input.minBalance, exclude: input.exclude });
  const claim = input.idempotencyKey === undefined ? undefined
    : { key: input.idempotencyKey, fingerprint: requestFingerprint({ symbol: input.symbol, snapshotId: input.snapshotId, from, rule, filters }) };
  if (claim) {
    const earlier = await store.findByKey(claim.key);
    if (earlier) {
      if (earlier.fingerprint !== claim.fingerprint) throw new AirdropKeyConflictError(earlier.airdropId);
      const record = await store.get(earlier.airdropId);
      if (!record) throw new AirdropNotFoundError(earlier.airdropId);
      return { record, created: false };
    }
  }
  const snapshot = await completedRecord(deps.snapshots, input.snapshotId); // SNAPSHOT_NOT_FOUND, NOT_READY
  const holders = await snapshotHolders(deps.ipfs, snapshot);
  const plan = computePlan({
    symbol: input.symbol, from, rule, filters, holders,
    snapshot: { cid: snapshot.cid, tokenId: snapshot.tokenId, network: snapshot.network, timestamp: snapshot.consensusTimestamp },
  });
  const total = BigInt(plan.header.total);
  const balance = BigInt(await ledger.balance(input.symbol, from));
  if (balance < total) throw new AirdropInsufficientFundsError(from, balance, total);
  const stored = await deps.ipfs.addBytes(encodePlan(plan));
  const { record, created } = await store.create({
    symbol: input.symbol, snapshotId: snapshot.snapshotId, snapshotCid: snapshot.cid, from, rule: input.rule,
    amount: plan.header.amount, total: plan.header.total, filters, planCid: stored.cid, planBytes: stored.bytes,
    holders: plan.header.holders, legs: plan.header.legs, chunkLegs: deps.chunkLegs ?? chunkLegsDefault, requestedBy: input.requestedBy,
  }, claim);
  if (created && deps.scheduler) await enqueue(deps, record);
  return { record, created };
}

/** Queues the job of a stored airdrop; a queue that refuses it fails the record (nothing was paid). */
async function enqueue(deps: AirdropServiceDeps, record: AirdropRecord): Promise<void> {
  try {
    await deps.scheduler!.enqueue(airdropJobName, { airdropId: record.airdropId });
  } catch (error) {
    await deps.store.update(record.airdropId, { status: 'failed', error: describeAirdropError(error) }).catch(() => {});
    throw error;
  }
}

/** A failed airdrop queued again: it resumes at its first chunk not paid. Other statuses are left as they are. */
async function resume(deps: AirdropServiceDeps, airdropId: string): Promise<AirdropRecord> {
  const record = await deps.store.get(airdropId);
  if (!record) throw new AirdropNotFoundError(airdropId);
  if (record.status !== 'failed') return record;
  const pending = await deps.store.update(airdropId, { status: 'pending' });
  if (deps.scheduler) await enqueue(deps, pending);
  return pending;
}

const isPermanent = (error: unknown): boolean => error instanceof TallyError && !error.retryable;

interface JobData { airdropId: string }

async function markFailed(deps: AirdropServiceDeps, job: JobInfo | null, airdropId: string, error: unknown): Promise<void> {
  const described = describeAirdropError(error);
  const record = await deps.store.update(airdropId, { status: 'failed', error: described }).catch((e: Error) => {
    deps.logger?.error({ err: e, airdropId }, 'could not record a failed airdrop');
    return null;
  });
  if (job && record) {
    deps.events?.emit({ type: 'airdrops_failed', payload: { jobId: job.jobId, jobName: job.jobName, airdropId, symbol: record.symbol, status: 'error',
      error: described.message, code: described.code, paid: record.paid, legs: record.legs } }, record.requestedBy ?? undefined);
  }
}

async function runJob(deps: AirdropServiceDeps, ctx: JobContext<JobData>): Promise<void> {
  const { store, events, logger } = deps;
  const { airdropId } = ctx.data;
  const record = await store.get(airdropId);
  if (!record || record.status === 'completed') return;
  const who = record.requestedBy ?? undefined;
  const base = { jobId: ctx.jobId, jobName: ctx.jobName, airdropId, symbol: record.symbol };
  events?.emit({ type: 'airdrops_active', payload: { ...base, status: 'activated', progress: progressOf(record.paid, record.legs), paid: record.paid, legs: record.legs } }, who);
  const keepAlive = setInterval(() => { ctx.keepAlive().catch(() => {}); }, deps.keepAliveMs ?? 1_000);
  try {
    const done = await runAirdrop(airdropId, {
      store, ipfs: deps.ipfs, ledger: deps.ledger, signal: ctx.signal, ...(deps.chunkPauseMs ? { chunkPauseMs: deps.chunkPauseMs } : {}),
      onProgress: async (r) => {
        const progress = progressOf(r.paid, r.legs);
        await ctx.progress(progress).catch(() => {});
        events?.emit({ type: 'airdrops_progress', payload: { ...base, status: 'running', progress, paid: r.paid, legs: r.legs } }, who);
      },
    });
    events?.emit({ type: 'airdrops_completed', payload: { ...base, status: 'completed', progress: 100, paid: done.paid, legs: done.legs, total: done.total, planCid: done.planCid } }, who);
    logger?.info({ airdropId, symbol: done.symbol, legs: done.legs, total: done.total }, 'airdrop completed');
  } catch (error) {
    if (isPermanent(error)) {
      await markFailed(deps, ctx, airdropId, error); // no retry can help
      return;
    }
    logger?.warn({ airdropId, attempt: ctx.attempt, err: describeAirdropError(error) }, 'airdrop attempt failed');
    await store.update(airdropId, { error: describeAirdropError(error) }).catch(() => {});
    throw error;
  } finally {
    clearInterval(keepAlive);
  }
}

/** Worker role: the job handler and the final-failure hook. */
function defineJobs(deps: AirdropServiceDeps): void {
  const scheduler = deps.scheduler;
  if (!scheduler) throw new Error('defineJobs needs a scheduler');
  scheduler.define<JobData>(airdropJobName, (ctx) => runJob(deps, ctx), { attempts: deps.attempts ?? 3, ...(deps.backoffMs ? { backoffMs: deps.backoffMs } : {}) });
  scheduler.onRetryExhausted(async (event) => {
    if (event.jobName !== airdropJobName) return;
    await markFailed(deps, event, (event.data as JobData).airdropId, event.error);
  });
}

/** Runs an airdrop in this process (the CLI); a failure is recorded on the airdrop and thrown. */
async function run(deps: AirdropServiceDeps, airdropId: string, options: { signal?: AbortSignal; onProgress?: (record: AirdropRecord) => void | Promise<void> } = {}): Promise<AirdropRecord> {
  try {
    return await runAirdrop(airdropId, {
      store: deps.store, ipfs: deps.ipfs, ledger: deps.ledger, ...(deps.chunkPauseMs ? { chunkPauseMs: deps.chunkPauseMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } catch (error) {
    if (!(error instanceof AirdropNotFoundError)) await markFailed(deps, null, airdropId, error);
    throw error;
  }
}

/** One token's airdrop, or AIRDROP_NOT_FOUND (also for another token's id). */
async function getAirdrop(deps: AirdropServiceDeps, symbol: string, airdropId: string): Promise<AirdropRecord> {
  const record = await deps.store.get(airdropId);
  if (!record || record.symbol !== symbol) throw new AirdropNotFoundError(airdropId, symbol);
  return record;
}

export function createAirdropService(deps: AirdropServiceDeps) {
  return {
    request: (input: AirdropRequest) => request(deps, input),
    resume: (airdropId: string) => resume(deps, airdropId),
    run: (airdropId: string, options?: Parameters<typeof run>[2]) => run(deps, airdropId, options),
    get: (symbol: string, airdropId: string) => getAirdrop(deps, symbol, airdropId),
    list: (query: AirdropQuery) => deps.store.list(query),
    defineJobs: () => defineJobs(deps),
    store: deps.store,
    ipfs: deps.ipfs,
  };
}

export type AirdropService = ReturnType<typeof createAirdropService>;
