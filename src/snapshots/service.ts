// The snapshot service: requests (REST, schedules, CLI) become metadata records and Agenda jobs;
// workers run the pipeline and report to the store and to Socket.IO. Two job names:
//   `snapshot`           data {snapshotId}: one snapshot, 3 attempts with exponential backoff
//   `snapshot-schedule`  data {scheduleId, tokenId, createdBy}: a recurring request
import type { Logger } from '../logger.ts';
import type { SnapshotEventSink } from './events.ts';
import { describeError, InvalidEntityIdError, SnapshotError } from './errors.ts';
import { parseEntityId, timestampPattern, type HederaNetwork } from './hedera-ids.ts';
import type { IpfsStore } from './ipfs-store.ts';
import type { MirrorClient } from './mirror/client.ts';
import {
  checkFilters, combinationSourcesMax, InvalidSnapshotFieldError,
  type NewSnapshot, type ScheduledCombination, type ScheduleRecord, type SnapshotFilters, type SnapshotRecord, type SnapshotStore,
} from './store/metadata-store.ts';
import { runCombination } from './combination.ts';
import { isPermanentFailure, runSnapshot } from './pipeline.ts';
import {
  checkpointRequester, checkpointScheduleId, isLedgerRecord, ledgerNetwork, runLedgerSnapshot, takeDueCheckpoints, type LedgerCheckpointSource,
} from './ledger-snapshots.ts';
import { archiveDueLogs, logArchiveScheduleId, type LedgerLogSource, type LogArchiveFaultPoint } from './log-archives.ts';
import { recurringJobName } from './jobs/recurring.ts';
import type { Scheduler } from './jobs/scheduler.ts';
import type { JobContext, JobInfo } from './jobs/types.ts';
import { sleep } from '../time.ts';

export const snapshotJobName = 'snapshot';
export const scheduleJobName = recurringJobName;
/** LEDGER_CHECKPOINT_EVERY_ENTRIES's default (src/config.ts). */
const checkpointEveryEntriesDefault = 10_000;
/** After a failed attempt, how long a worker waits for the metadata store to answer again. */
const storeWaitMaxMs = 30_000;
const storeWaitStepMs = 250;

/** One token of a combination request. */
export interface CombinationTokenRequest {
  tokenId: string;
  filters?: SnapshotFilters;
}

export interface SnapshotRequest {
  /** The token of a snapshot of one token; absent for a combination (`tokens`). */
  tokenId?: string;
  /** A combination: 2..10 distinct tokens joined with `combine`, all at one timestamp. */
  tokens?: CombinationTokenRequest[];
  combine?: 'all' | 'any';
  /** `seconds.nanoseconds`; absent: the latest balance snapshot when the job starts. */
  timestamp?: string;
  requestedBy: string;
  scheduleId?: string;
  /** minBalance, exclude (`treasury` allowed), minCount (NFTs); recorded in line 1 and the record. */
  filters?: SnapshotFilters;
}

export interface SnapshotServiceDeps {
  store: SnapshotStore;
  scheduler: Scheduler;
  ipfs: IpfsStore;
  mirror: MirrorClient;
  /** The configured Hedera network; checksums are checked against it. */
  network: HederaNetwork | null;
  events: SnapshotEventSink;
  workDir: string;
  logger: Logger;
  attempts?: number;
  backoffMs?: number;
  /** How often a running job renews its lock (well within the scheduler's lock lifetime). */
  keepAliveMs: number;
  /** The ledger's history, for snapshots of Tally tokens (ledger-snapshots.ts); absent: none. */
  ledgerHistory?: LedgerCheckpointSource;
  /** Automatic checkpoints: a token's log entries after its last one that call for the next. */
  checkpointEveryEntries?: number;
  /** A bounded log (log-archives.ts): what archiving needs of the ledger, and its settings; absent: no archiving. */
  ledgerLog?: LedgerLogSource;
  logArchive?: { retentionEntries: number; segmentEntries: number; segmentsPerRunMax?: number; faultPause?: LogArchiveFaultPoint };
}

export interface LedgerSnapshotRequest {
  ledgerToken: string;
  /** An event id or an ISO 8601 time; absent: the log's last entry at request time. */
  at?: string;
  requestedBy: string;
}

export class InvalidTimestampError extends SnapshotError {
  constructor() { super('INVALID_TIMESTAMP', 'timestamp must be a consensus timestamp `seconds.nanoseconds`, e.g. 1716885861.254421003'); }
}

/** Canonical token id, or a typed 400 error (malformed id, bad checksum for the network). */
export function validateTokenId(tokenId: unknown, network: HederaNetwork | null): string {
  if (typeof tokenId !== 'string') throw new InvalidEntityIdError('tokenId must be a string like 0.0.1234');
  return parseEntityId(tokenId, { network }).id;
}

export function validateTimestamp(timestamp: unknown): string | undefined {
  if (timestamp === undefined) return undefined;
  if (typeof timestamp !== 'string' || !timestampPattern.test(timestamp)) throw new InvalidTimestampError();
  return timestamp;
}

/** Checked filters, or null when none is set (an empty object filters nothing: the unfiltered bytes). */
export function validateFilters(filters: unknown): SnapshotFilters | null {
  if (filters === undefined || filters === null) return null;
  const checked = checkFilters(filters);
  return Object.keys(checked).length === 0 ? null : checked;
}

type Requested = { snapshotId: string; jobId: string; record: SnapshotRecord };

async function request(deps: SnapshotServiceDeps, input: SnapshotRequest): Promise<Requested> {
  const requestedTimestamp = validateTimestamp(input.timestamp) ?? null;
  return enqueue(deps, { network: deps.network ?? 'custom', requestedTimestamp, requestedBy: input.requestedBy, scheduleId: input.scheduleId ?? null,
    ...validateTarget(input, deps.network) });
}

/** A snapshot of a Tally token, at the event id `at` resolves to now (ledger-snapshots.ts). */
async function requestLedger(deps: SnapshotServiceDeps, input: LedgerSnapshotRequest): Promise<Requested> {
  const eventId = await requireHistory(deps).resolveAt(input.ledgerToken, input.at);
  return enqueue(deps, { tokenId: input.ledgerToken, network: ledgerNetwork, requestedTimestamp: eventId, requestedBy: input.requestedBy });
}

async function enqueue(deps: SnapshotServiceDeps, input: Parameters<SnapshotStore['create']>[0]): Promise<Requested> {
  const { store, scheduler } = deps;
  const record = await store.create(input);
  try {
    const jobId = await scheduler.enqueue(snapshotJobName, { snapshotId: record.snapshotId });
    return { snapshotId: record.snapshotId, jobId, record };
  } catch (error) {
    await store.update(record.snapshotId, { status: 'failed', error: describeError(error) }).catch(() => {});
    throw error;
  }
}

/** Exactly one of: `tokenId` (with its filters), or `tokens` with `combine`. Checked before anything is stored. */
export function validateTarget(input: Pick<SnapshotRequest, 'tokenId' | 'filters' | 'tokens' | 'combine'>, network: HederaNetwork | null): Pick<NewSnapshot, 'tokenId' | 'filters' | 'combination'> {
  if (input.tokens === undefined && input.combine === undefined) {
    return { tokenId: validateTokenId(input.tokenId, network), filters: validateFilters(input.filters) };
  }
  if (input.tokenId !== undefined || input.filters !== undefined) throw new InvalidSnapshotFieldError('tokens', 'a combination names its tokens (each with its filters) in tokens, not tokenId and filters');
  if (input.combine !== 'all' && input.combine !== 'any') throw new InvalidSnapshotFieldError('combine', "expected 'all' or 'any'");
  if (!Array.isArray(input.tokens) || input.tokens.length < 2 || input.tokens.length > combinationSourcesMax) throw new InvalidSnapshotFieldError('tokens', `expected 2..${combinationSourcesMax} tokens`);
  const sources = input.tokens.map((t) => ({ tokenId: validateTokenId(t?.tokenId, network), filters: validateFilters(t.filters), snapshotId: null, cid: null }));
  if (new Set(sources.map((s) => s.tokenId)).size !== sources.length) throw new InvalidSnapshotFieldError('tokens', 'each token at most once');
  return { tokenId: sources[0]!.tokenId, filters: null, combination: { mode: input.combine, sources } };
}

/**
 * Resolves once the store answers, or after storeWaitMaxMs. A Redis outage fails an attempt;
 * without this the retries (and the final failure record) would run into the same outage,
 * and a record that cannot be marked failed would say `running` forever.
 */
async function storeAnswers(store: SnapshotStore, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + storeWaitMaxMs;
  for (;;) {
    try {
      await store.ping();
      return true;
    } catch {
      if (Date.now() >= deadline || signal?.aborted) return false;
      await sleep(storeWaitStepMs);
    }
  }
}

async function fail(deps: SnapshotServiceDeps, job: JobInfo, snapshotId: string, error: unknown): Promise<void> {
  const { store } = deps;
  const described = describeError(error);
  const update = () => store.update(snapshotId, { status: 'failed', error: described });
  const record = await update().catch(async () => ((await storeAnswers(store)) ? update() : Promise.reject(new Error('the store did not come back'))))
    .catch((e: Error) => {
      deps.logger.error({ err: e, snapshotId }, 'could not record a failed snapshot');
      return null;
    });
  deps.events.emit({ type: 'snapshots_failed', payload: { jobId: job.jobId, jobName: job.jobName, snapshotId, status: 'error', error: described.message } }, record?.requestedBy ?? undefined);
}

async function runJob(deps: SnapshotServiceDeps, ctx: JobContext<{ snapshotId: string }>): Promise<void> {
  const { store, events, logger } = deps;
  const { snapshotId } = ctx.data;
  const record = await store.get(snapshotId).catch(async (error: unknown) => {
    await storeAnswers(store, ctx.signal);
    throw error;
  });
  if (!record || record.status === 'completed') return;
  const who = record.requestedBy ?? undefined;
  const base = { jobId: ctx.jobId, jobName: ctx.jobName, snapshotId };
  events.emit({ type: 'snapshots_active', payload: { ...base, status: 'activated', progress: 0 } }, who);
  // Mirror-node retries can be long and silent: renew the lock so no other worker takes over
  // a live job. A dead worker stops renewing, and its job resumes elsewhere.
  const keepAlive = setInterval(() => { ctx.keepAlive().catch(() => {}); }, deps.keepAliveMs);
  try {
    const onProgress = async (progress: number, holders?: number) => {
      await ctx.progress(progress);
      events.emit({ type: 'snapshots_progress', payload: { ...base, status: 'running', progress, ...(holders === undefined ? {} : { holders }) } }, who);
    };
    const pipelineDeps = { store, mirror: deps.mirror, ipfs: deps.ipfs, workDir: deps.workDir, network: deps.network, signal: ctx.signal, onProgress };
    // A combination is one job too: its sources' snapshots and the join report as one snapshot.
    const done = isLedgerRecord(record)
      ? await runLedgerSnapshot(snapshotId, { store, ipfs: deps.ipfs, history: requireHistory(deps), signal: ctx.signal, onProgress })
      : record.combination
        ? await runCombination({ ...record, combination: record.combination }, pipelineDeps)
        : await runSnapshot(snapshotId, pipelineDeps);
    events.emit({ type: 'snapshots_completed', payload: { ...base, status: 'completed', progress: 100, cid: done.cid! } }, who);
    logger.info({ snapshotId, cid: done.cid, holders: done.holders }, 'snapshot completed');
  } catch (error) {
    if (isPermanentFailure(error)) {
      await fail(deps, ctx, snapshotId, error); // no retry can help: end the job here
      return;
    }
    logger.warn({ snapshotId, attempt: ctx.attempt, err: describeError(error) }, 'snapshot attempt failed');
    await storeAnswers(store, ctx.signal);
    await store.update(snapshotId, { error: describeError(error) }).catch(() => {});
    throw error;
  } finally {
    clearInterval(keepAlive);
  }
}

function requireHistory(deps: SnapshotServiceDeps): LedgerCheckpointSource {
  if (!deps.ledgerHistory) throw new Error('this snapshot service was built without the ledger history: it has no ledger snapshots');
  return deps.ledgerHistory;
}

/** Worker role: the job handlers and the final-failure hook. */
function defineJobs(deps: SnapshotServiceDeps): void {
  const { scheduler } = deps;
  scheduler.define(snapshotJobName, (ctx: JobContext<{ snapshotId: string }>) => runJob(deps, ctx), { attempts: deps.attempts ?? 3, ...(deps.backoffMs ? { backoffMs: deps.backoffMs } : {}) });
  let checkpointCursor: string | null = null; // where the next check resumes (tokens in symbol order)
  const counted = new Map<string, { checkpoint: string | null; upTo: string | null; count: number }>();
  let archiveCursor: string | null = null;
  scheduler.define<ScheduleJobData>(scheduleJobName, async (ctx) => {
    if (ctx.data.scheduleId === logArchiveScheduleId) {
      archiveCursor = await archiveLogs(deps, archiveCursor);
      return;
    }
    if (ctx.data.scheduleId === checkpointScheduleId) {
      const history = requireHistory(deps);
      const every = deps.checkpointEveryEntries ?? checkpointEveryEntriesDefault;
      const checked = await takeDueCheckpoints({ store: deps.store, ipfs: deps.ipfs, history, everyEntries: every, counted,
        request: (symbol) => requestLedger(deps, { ledgerToken: symbol, requestedBy: checkpointRequester }),
        onError: (symbol, error) => deps.logger.warn({ symbol, err: describeError(error) }, 'ledger checkpoint check failed') }, checkpointCursor);
      checkpointCursor = checked.cursor;
      if (checked.requested.length > 0) deps.logger.info({ tokens: checked.requested }, 'ledger checkpoints requested');
      return;
    }
    await request(deps, { ...scheduledTarget(ctx.data), requestedBy: ctx.data.createdBy, scheduleId: ctx.data.scheduleId });
  }, { attempts: 1 });
  scheduler.onRetryExhausted(async (event) => {
    if (event.jobName !== snapshotJobName) return;
    await fail(deps, event, (event.data as { snapshotId: string }).snapshotId, event.error);
  });
}

/** One run of the log archiving job; returns where the next one resumes. */
async function archiveLogs(deps: SnapshotServiceDeps, cursor: string | null): Promise<string | null> {
  const settings = deps.logArchive;
  if (!deps.ledgerLog || !settings || settings.retentionEntries === 0) return null;
  const { faultPause } = settings;
  const run = await archiveDueLogs({
    store: deps.store, ipfs: deps.ipfs, ledger: deps.ledgerLog, retentionEntries: settings.retentionEntries, segmentEntries: settings.segmentEntries,
    ...(settings.segmentsPerRunMax ? { segmentsPerRunMax: settings.segmentsPerRunMax } : {}),
    onError: (symbol, error) => deps.logger.warn({ symbol, err: describeError(error) }, 'log archiving failed'),
    // Test-only (TALLY_FAULT_LOG_ARCHIVE_PAUSE): stop here for good, so that a fault test kills the worker at this point.
    ...(faultPause ? {
      onFault: async (point: LogArchiveFaultPoint, segment: { symbol: string; index: number }) => {
        if (point !== faultPause) return;
        deps.logger.warn({ point, ...segment }, `fault: log archiving paused ${point} (TALLY_FAULT_LOG_ARCHIVE_PAUSE)`);
        await new Promise<never>(() => {});
      },
    } : {}),
  }, cursor);
  for (const segment of run.archived) deps.logger.info({ symbol: segment.symbol, index: segment.index, cid: segment.cid, lastId: segment.lastId }, 'log segment archived and trimmed');
  return run.cursor;
}

/** What each run of a schedule requests (jobs stored before filters and combinations carry only tokenId). */
interface ScheduleJobData {
  scheduleId: string;
  tokenId: string;
  createdBy: string;
  filters?: SnapshotFilters | null;
  combination?: ScheduledCombination | null;
}

function scheduledTarget(data: ScheduleJobData): Pick<SnapshotRequest, 'tokenId' | 'filters' | 'tokens' | 'combine'> {
  if (data.combination) {
    return { combine: data.combination.mode, tokens: data.combination.tokens.map((t) => ({ tokenId: t.tokenId, ...(t.filters ? { filters: t.filters } : {}) })) };
  }
  return { tokenId: data.tokenId, ...(data.filters ? { filters: data.filters } : {}) };
}

export type ScheduleInput = Pick<SnapshotRequest, 'tokenId' | 'filters' | 'tokens' | 'combine'> & { every: string; createdBy: string };

async function createSchedule(deps: SnapshotServiceDeps, input: ScheduleInput): Promise<ScheduleRecord> {
  const { store, scheduler } = deps;
  const target = validateTarget(input, deps.network);
  const combination = target.combination ? { mode: target.combination.mode, tokens: target.combination.sources.map((t) => ({ tokenId: t.tokenId, filters: t.filters })) } : null;
  const every = scheduler.parseEvery(input.every).every;
  const schedule = await store.createSchedule({ tokenId: target.tokenId, every, createdBy: input.createdBy, filters: target.filters ?? null, combination });
  try {
    const data: ScheduleJobData = { scheduleId: schedule.id, tokenId: schedule.tokenId, createdBy: input.createdBy, filters: schedule.filters, combination: schedule.combination };
    await scheduler.schedule(schedule.id, every, { ...data });
  } catch (error) {
    await store.deleteSchedule(schedule.id).catch(() => {});
    throw error;
  }
  return schedule;
}

/** Registers (checkMs > 0) or removes (0) the recurring check for due ledger checkpoints. */
async function scheduleCheckpoints(deps: SnapshotServiceDeps, checkMs: number): Promise<void> {
  if (checkMs === 0) await deps.scheduler.unschedule(checkpointScheduleId);
  else await deps.scheduler.schedule(checkpointScheduleId, `${Math.max(1, Math.round(checkMs / 1000))} seconds`, {}, { skipImmediate: true });
}

/** Registers (checkMs > 0 and retention on) or removes the recurring log archiving. */
async function scheduleLogArchive(deps: SnapshotServiceDeps, checkMs: number): Promise<void> {
  if (checkMs === 0 || !deps.logArchive || deps.logArchive.retentionEntries === 0) await deps.scheduler.unschedule(logArchiveScheduleId);
  else await deps.scheduler.schedule(logArchiveScheduleId, `${Math.max(1, Math.round(checkMs / 1000))} seconds`, {}, { skipImmediate: true });
}

async function deleteSchedule(deps: SnapshotServiceDeps, id: string): Promise<boolean> {
  const existed = await deps.store.deleteSchedule(id);
  await deps.scheduler.unschedule(id);
  return existed;
}

export function createSnapshotService(deps: SnapshotServiceDeps) {
  return {
    request: (input: SnapshotRequest) => request(deps, input),
    requestLedger: (input: LedgerSnapshotRequest) => requestLedger(deps, input),
    scheduleCheckpoints: (checkMs: number) => scheduleCheckpoints(deps, checkMs),
    scheduleLogArchive: (checkMs: number) => scheduleLogArchive(deps, checkMs),
    /** One archiving run now (what the recurring job does), for tests and tools. */
    archiveLogs: (cursor: string | null = null) => archiveLogs(deps, cursor),
    defineJobs: () => defineJobs(deps),
    createSchedule: (input: ScheduleInput) => createSchedule(deps, input),
    deleteSchedule: (id: string) => deleteSchedule(deps, id),
    store: deps.store,
    ipfs: deps.ipfs,
  };
}

export type SnapshotService = ReturnType<typeof createSnapshotService>;
