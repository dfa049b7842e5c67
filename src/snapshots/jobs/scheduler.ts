// Jobs for the snapshot service on Agenda 6: one-off jobs with retries (exponential backoff with
// jitter), recurring jobs registered once however many processes ask (recurring.ts, under the
// lock of lock.ts), a hook when a job is out of attempts, a bounded drain on stop. The backends
// are in backends.ts, `every` parsing in schedule.ts, per-run bookkeeping in run-tracker.ts.
//
// Pitfalls handled here (notes/PITFALLS.md, Agenda 6 section):
// - an unreachable backend never emits `error`: readiness is awaited with readyTimeoutMs, and a
//   failed connect is caught instead of becoming an unhandled rejection;
// - every()/unique() are not atomic on Redis: schedule() runs under a lock (Redis SET NX PX, or
//   a Mongo document) and identifies a recurring job by its scheduleId in the job data;
// - job.touch(progress) reaches only other processes, and a bare touch() would wipe the stored
//   progress: ctx.keepAlive() re-sends the last progress;
// - drain() can hang: stop() stops taking jobs, waits for running ones at most drainTimeoutMs,
//   then aborts their signal, and bounds every remaining step;
// - polling scans every job of a name: finished one-off jobs are removed (removeOnComplete, and
//   after the last failed attempt; the metadata store keeps the outcome).
// Agenda's own keep-alive timer outlives a finished job by up to lockLifetimeMs / 2, so keep the
// lock lifetime modest and touch (progress) well within it.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Agenda, backoffStrategies, type Job } from 'agenda';
import { guardConnect, openBackend, type BackendParts } from './backends.ts';
import { SchedulerUnavailableError } from './errors.ts';
import { findSchedule, schedule, unschedule, type ScheduleResult } from './recurring.ts';
import { createRunTracker, type RetryExhaustedHook, type RunTracker } from './run-tracker.ts';
import { parseEvery, type ParsedEvery } from './schedule.ts';
import { within } from '../../time.ts';
import type { ErrorReporter, SchedulerOptions, DefineOptions, JobInfo, JobContext, JobHandler, RetryExhaustedEvent, ScheduledJob, StopResult } from './types.ts';

export interface Scheduler {
  /** Unique per process (`host-pid-random`): processes sharing a name would ignore each other. */
  readonly processName: string;
  readonly backend: 'redis' | 'mongo';
  define<D = unknown>(jobName: string, handler: JobHandler<D>, options?: DefineOptions): void;
  /** Stores a job to run now; returns its id. */
  enqueue<D = unknown>(jobName: string, data: D): Promise<string>;
  /** Registers (or replaces, if `every` or data changed) the recurring job of scheduleId. */
  schedule(scheduleId: string, every: string, data?: Record<string, unknown>, options?: { skipImmediate?: boolean }): Promise<ScheduleResult>;
  /** true when a recurring job was removed. */
  unschedule(scheduleId: string): Promise<boolean>;
  /** The recurring jobs stored for scheduleId (exactly one after schedule()). */
  findSchedule(scheduleId: string): Promise<ScheduledJob[]>;
  /** Validates a human interval (`15 minutes`, `1 hour and 30 minutes`) or a cron expression (UTC). */
  parseEvery(every: string): ParsedEvery;
  /** Called once when a job failed its last attempt; returns the unsubscribe function. */
  onRetryExhausted(hook: RetryExhaustedHook): () => void;
  /** Workers start processing jobs; other roles only connect notifications. */
  start(): Promise<void>;
  /** Throws when the backend does not answer (for /readyz). */
  ping(): Promise<void>;
  /** drainTimeoutMs: how long to wait for running jobs before aborting them. Default 10 s. */
  stop(options?: { drainTimeoutMs?: number }): Promise<StopResult>;
}

// ---------------------------------------------------------------------------------------------

const processEveryMsDefault = 5_000;
const maxConcurrency = 10;
const minIntervalMsDefault = 60_000;
const drainTimeoutMsDefault = 10_000;
const attemptsDefault = 3;
const attemptsMax = 20;
const backoffMsDefault = 5_000;
const backoffMaxMs = 600_000;
const backoffJitter = 0.2;
/** Bound of each shutdown step (unlocking, closing connections, pending hooks). */
const stopStepTimeoutMs = 3_000;
const pingTimeoutMs = 2_000;

const jobNamePattern = /^[a-z][a-z0-9:-]{0,63}$/;
const keyPrefixPattern = /^[A-Za-z0-9{}:._-]{1,64}$/;

function requirePositive(name: string, value: number | undefined, fallback?: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new TypeError(`${name} must be a positive integer (ms or count), got ${String(value)}`);
  return v;
}

function assertJobName(jobName: string): void {
  if (typeof jobName !== 'string' || !jobNamePattern.test(jobName)) throw new TypeError(`job name ${JSON.stringify(jobName)} must match ${jobNamePattern.source}`);
}

function checkOptions(options: SchedulerOptions): void {
  const clustered = (options.redisClusterUrls?.length ?? 0) > 0;
  if (!options.redisUrl && !clustered && !options.mongoUrl) throw new TypeError('createScheduler needs redisUrl, redisClusterUrls or mongoUrl');
  if (!keyPrefixPattern.test(options.keyPrefix)) throw new TypeError(`keyPrefix ${JSON.stringify(options.keyPrefix)} must match ${keyPrefixPattern.source}`);
  if (clustered && !/\{[^{}]+\}/.test(options.keyPrefix)) throw new TypeError(`on Redis Cluster keyPrefix needs a hash tag, e.g. {tally:agenda}:, got ${JSON.stringify(options.keyPrefix)}`);
  if (typeof options.channelName !== 'string' || !keyPrefixPattern.test(options.channelName)) throw new TypeError('channelName must be a Redis channel name such as tally:agenda:prod');
  requirePositive('lockLifetimeMs', options.lockLifetimeMs);
  requirePositive('readyTimeoutMs', options.readyTimeoutMs);
  if (typeof options.roles?.worker !== 'boolean') throw new TypeError('roles.worker must be a boolean');
}

/** Exponential backoff with ±20 % jitter, doubling from backoffMs up to backoffMaxMs. */
export function retryBackoff(attempts: number, backoffMs: number) {
  return backoffStrategies.exponential({ delay: backoffMs, maxDelay: backoffMaxMs, factor: 2, jitter: backoffJitter, maxRetries: attempts - 1 });
}

// ---------------------------------------------------------------------------------------------

interface Internals {
  options: SchedulerOptions;
  agenda: Agenda;
  parts: BackendParts;
  tracker: RunTracker;
  minIntervalMs: number;
  state: { started: boolean; channelConnected: boolean; stopping: Promise<StopResult> | null };
}

/** Connects the backend (waiting at most readyTimeoutMs) and returns the scheduler. */
export async function createScheduler(options: SchedulerOptions): Promise<Scheduler> {
  checkOptions(options);
  const report = options.onError ?? ((error: Error, context: string) => { console.error(`[scheduler] ${context}: ${error.message}`); });
  const minIntervalMs = requirePositive('minIntervalMs', options.minIntervalMs, minIntervalMsDefault);
  const processEvery = requirePositive('processEveryMs', options.processEveryMs, processEveryMsDefault);
  const processName = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const parts = await openBackend(options, report);
  const agenda = await connectAgenda(options, parts, { name: processName, processEvery });
  agenda.on('error', (error: Error) => report(error, 'agenda'));
  const tracker = createRunTracker(agenda, report);
  const state = { started: false, channelConnected: false, stopping: null };
  return buildScheduler(processName, { options, agenda, parts, tracker, minIntervalMs, state });
}

/** The Agenda instance on the backend, once ready; SchedulerUnavailableError after readyTimeoutMs. */
async function connectAgenda(options: SchedulerOptions, parts: BackendParts, settings: { name: string; processEvery: number }): Promise<Agenda> {
  let connectFailure: Error | null = null;
  const agenda = new Agenda({
    backend: guardConnect(parts.backend, (error) => { connectFailure = error; }),
    ...settings,
    maxConcurrency,
    defaultLockLifetime: options.lockLifetimeMs,
    removeOnComplete: true,
    ...(parts.notificationChannel && parts.kind === 'mongo' ? { notificationChannel: parts.notificationChannel } : {}),
  });
  const ready = await within(agenda.ready, options.readyTimeoutMs);
  if (!ready.timedOut) return agenda;
  await within(parts.close(), stopStepTimeoutMs);
  const cause = connectFailure ?? parts.lastError();
  throw new SchedulerUnavailableError(
    `the ${parts.kind} job backend was not ready within ${options.readyTimeoutMs} ms${cause ? `: ${(cause as Error).message}` : ''}`,
    { cause },
  );
}

function defineJob<D>(internals: Internals, jobName: string, handler: JobHandler<D>, defineOptions: DefineOptions): void {
  assertJobName(jobName);
  const attempts = requirePositive('attempts', defineOptions.attempts, attemptsDefault);
  if (attempts > attemptsMax) throw new TypeError(`attempts must be at most ${attemptsMax}`);
  const backoff = retryBackoff(attempts, requirePositive('backoffMs', defineOptions.backoffMs, backoffMsDefault));
  internals.tracker.setAttempts(jobName, attempts);
  internals.agenda.define<D>(jobName, (job: Job<D>) => runJob(internals.tracker, job, handler), {
    lockLifetime: internals.options.lockLifetimeMs,
    removeOnComplete: true,
    backoff,
  });
}

/** One run of a job: the handler gets its info, the abort signal and lock renewal. */
async function runJob<D>(tracker: RunTracker, job: Job<D>, handler: JobHandler<D>): Promise<void> {
  const run = tracker.begin(job as Job);
  let lastProgress: number | undefined = job.attrs.progress;
  const ctx: JobContext<D> = {
    ...(run.info as JobInfo<D>),
    signal: run.signal,
    async progress(percent: number) {
      if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) throw new RangeError('progress must be a number in 0..100');
      lastProgress = percent;
      await job.touch(percent);
    },
    async keepAlive() { await job.touch(lastProgress); },
  };
  try {
    await handler(ctx);
  } finally {
    run.end();
  }
}

async function start(internals: Internals): Promise<void> {
  const { options, agenda, parts, state } = internals;
  if (options.roles.worker) {
    await agenda.start();
    state.started = true;
  } else if (parts.notificationChannel && !state.channelConnected) {
    // Not a worker: connect only the channel, so enqueued jobs wake workers at once.
    await parts.notificationChannel.connect();
    state.channelConnected = true;
  }
}

async function stop(internals: Internals, drainTimeoutMs: number): Promise<StopResult> {
  const { agenda, parts, tracker, state } = internals;
  let drained = true;
  let aborted = 0;
  if (state.started) {
    // Stop taking jobs; locked-but-not-started ones are unlocked for other workers.
    await within(agenda.stop(false), stopStepTimeoutMs);
    drained = await tracker.idle(drainTimeoutMs);
    if (!drained) {
      aborted = tracker.abortAll(new Error('the scheduler is stopping'));
      await tracker.idle(stopStepTimeoutMs);
    }
  } else if (state.channelConnected) {
    await within(parts.notificationChannel!.disconnect(), stopStepTimeoutMs);
  }
  await within(tracker.pendingHooks(), stopStepTimeoutMs);
  await within(parts.close(), stopStepTimeoutMs);
  return { drained, aborted };
}

function buildScheduler(processName: string, internals: Internals): Scheduler {
  const { agenda, parts, tracker, minIntervalMs, state } = internals;
  const ensureOpen = () => { if (state.stopping) throw new SchedulerUnavailableError('the scheduler is stopped'); };
  return {
    processName,
    backend: parts.kind,
    define: (jobName, handler, defineOptions = {}) => defineJob(internals, jobName, handler, defineOptions),
    async enqueue<D>(jobName: string, data: D) {
      ensureOpen();
      assertJobName(jobName);
      const job = await agenda.now(jobName, data);
      return String(job.attrs._id);
    },
    async schedule(scheduleId, every, data = {}, scheduleOptions = {}) {
      ensureOpen();
      return schedule(agenda, parts.lock, minIntervalMs, { scheduleId, every, data, skipImmediate: scheduleOptions.skipImmediate ?? false });
    },
    async unschedule(scheduleId) {
      ensureOpen();
      return unschedule(agenda, parts.lock, scheduleId);
    },
    findSchedule: (scheduleId) => findSchedule(agenda, scheduleId),
    parseEvery: (every) => parseEvery(agenda, every, minIntervalMs),
    onRetryExhausted: (hook) => tracker.onRetryExhausted(hook),
    async start() {
      ensureOpen();
      await start(internals);
    },
    async ping() {
      const result = await within(parts.ping(), pingTimeoutMs);
      if (result.timedOut) throw new SchedulerUnavailableError(`the ${parts.kind} job backend did not answer within ${pingTimeoutMs} ms`);
    },
    stop: (stopOptions = {}) => (state.stopping ??= stop(internals, stopOptions.drainTimeoutMs ?? drainTimeoutMsDefault)),
  };
}

