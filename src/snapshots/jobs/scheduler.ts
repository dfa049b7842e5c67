// Jobs for the snapshot service on Agenda 6: one-off jobs with retries (exponential backoff with
// jitter), recurring jobs registered once however many processes ask, lifecycle hooks for the
// pipeline (store updates, Socket.IO events), a bounded drain on stop.
//
// Backends: MongoDB when mongoUrl is given (Agenda collection `agendaJobs`; notifications over
// Redis pub/sub when redisUrl is given too, else polling), else Redis (keys under keyPrefix,
// pub/sub on channelName and channelName:state). The channel is not prefixed by Agenda, so each
// deployment names its own. Give the prefix a hash tag, e.g. `{tally:agenda}:`: the backend's
// scripts touch several keys, which Redis Cluster allows only within one slot (required with
// redisClusterUrls, where the backend talks to the cluster through an ioredis Cluster client).
//
// Pitfalls handled here (notes/PITFALLS.md, Agenda 6 section):
// - an unreachable backend never emits `error`: readiness is awaited with readyTimeoutMs, and a
//   failed connect is caught instead of becoming an unhandled rejection;
// - every()/unique() are not atomic on Redis: schedule() runs under a lock (Redis SET NX PX, or
//   a Mongo document) and identifies a recurring job by its scheduleId in the job data, so N
//   processes calling schedule() at once leave exactly one job (and heal older duplicates);
// - job.touch(progress) reaches only other processes: ctx.progress() touches and fires the local
//   onProgress hooks itself; a plain keep-alive re-sends the last progress (a bare touch()
//   would wipe it);
// - drain() can hang: stop() stops taking jobs, waits for running ones at most drainTimeoutMs,
//   then aborts their signal, and bounds every remaining step;
// - polling scans every job of a name: finished one-off jobs are removed (removeOnComplete, and
//   after the last failed attempt; the metadata store keeps the outcome).
// Agenda's own keep-alive timer outlives a finished job by up to lockLifetimeMs / 2, so keep the
// lock lifetime modest and touch (progress) well within it.
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Agenda, backoffStrategies, type AgendaBackend, type Job, type JobWithId } from 'agenda';
import { RedisBackend, RedisNotificationChannel } from '@agendajs/redis-backend';
import { Cluster, Redis } from 'ioredis';
import { MongoBackend } from '@agendajs/mongo-backend';
import { MongoClient, type Db } from 'mongodb';
import { CodedError } from '../../coded-error.ts';
import { sleep, within } from '../timing.ts';

export interface SchedulerOptions {
  /** Redis backend and schedule lock; with mongoUrl, only job notifications (pub/sub). */
  redisUrl?: string;
  /** Seed nodes of a Redis Cluster, used instead of redisUrl; keyPrefix must carry a hash tag. */
  redisClusterUrls?: string[];
  /** MongoDB backend; takes precedence over redisUrl for job storage. */
  mongoUrl?: string;
  /** Unique per process; default `host-pid-random`. */
  processName?: string;
  /** Redis key prefix of Agenda's keys and Tally's locks, e.g. `{tally:agenda}:`. */
  keyPrefix: string;
  /** Redis pub/sub channel of this deployment, e.g. `tally:agenda:prod`. */
  channelName: string;
  /** A job not touched for this long is presumed dead and may run elsewhere. */
  lockLifetimeMs: number;
  roles: { worker: boolean };
  /** How long createScheduler waits for the backend before failing. */
  readyTimeoutMs: number;
  /** Polling period for due jobs. Default 5 s. */
  processEveryMs?: number;
  /** Jobs running at once in this process. Default 10. */
  maxConcurrency?: number;
  /** Shortest accepted recurring interval. Default 60 s. */
  minIntervalMs?: number;
  /** The job name schedule() registers; the worker defines its handler. Default `snapshot-schedule`. */
  recurringJobName?: string;
  /** stop() waits this long for running jobs before aborting them. Default 10 s. */
  drainTimeoutMs?: number;
  /** Mongo collection of Agenda's jobs. Default `agendaJobs`. */
  mongoCollection?: string;
  /** Hook failures, connection errors and Agenda errors. Default: written to stderr. */
  onError?: (error: Error, context: string) => void;
}

export interface DefineOptions {
  /** Runs in all, including the first. Default 3. */
  attempts?: number;
  /** Delay before the first retry; doubles each time (with ±20 % jitter). Default 5 s. */
  backoffMs?: number;
  /** Upper bound of one retry delay. Default 10 min. */
  backoffMaxMs?: number;
  /** Jobs of this name running at once in this process. Default 5. */
  concurrency?: number;
  /** Default: the scheduler's lockLifetimeMs. */
  lockLifetimeMs?: number;
}

export interface JobInfo<D = unknown> {
  jobId: string;
  jobName: string;
  data: D;
  /** 1-based number of this run; for retries, of the failed run. */
  attempt: number;
  attempts: number;
}

export interface JobContext<D = unknown> extends JobInfo<D> {
  /** Aborted when the scheduler stops before the job ends: checkpoint and return. */
  signal: AbortSignal;
  /** Records progress (0..100), renews the lock and fires the onProgress hooks. */
  progress(percent: number): Promise<void>;
  /** Renews the lock without new progress. */
  keepAlive(): Promise<void>;
}

export type JobHandler<D = unknown> = (ctx: JobContext<D>) => Promise<void>;

export interface HookEvents {
  start: JobInfo;
  progress: JobInfo & { progress: number };
  complete: JobInfo;
  fail: JobInfo & { error: Error; willRetry: boolean };
  retry: JobInfo & { error: Error; delayMs: number; nextRunAt: Date };
  retryExhausted: JobInfo & { error: Error };
}
type HookName = keyof HookEvents;
type Hook<K extends HookName> = (event: HookEvents[K]) => void | Promise<void>;

export interface ParsedEvery {
  /** Normalized text, as stored with the job. */
  every: string;
  kind: 'interval' | 'cron';
  /** The shortest gap between two runs (for cron, over the probed year). */
  minIntervalMs: number;
}

export interface ScheduledJob { jobId: string; scheduleId: string; every: string; nextRunAt: Date | null; lastRunAt: Date | null }

export interface Scheduler {
  readonly processName: string;
  readonly backend: 'redis' | 'mongo';
  define<D = unknown>(jobName: string, handler: JobHandler<D>, options?: DefineOptions): void;
  /** Stores a job to run now; returns its id. */
  enqueue<D = unknown>(jobName: string, data: D): Promise<string>;
  /** Registers (or replaces, if `every` or data changed) the recurring job of scheduleId. */
  schedule(scheduleId: string, every: string, data?: Record<string, unknown>, options?: { skipImmediate?: boolean }): Promise<{ jobId: string; created: boolean; nextRunAt: Date | null }>;
  /** true when a recurring job was removed. */
  unschedule(scheduleId: string): Promise<boolean>;
  /** The recurring jobs stored for scheduleId (exactly one after schedule()). */
  findSchedule(scheduleId: string): Promise<ScheduledJob[]>;
  /** Validates a human interval (`15 minutes`, `1 hour and 30 minutes`) or a cron expression (UTC). */
  parseEvery(every: string): ParsedEvery;
  onStart(hook: Hook<'start'>): () => void;
  onProgress(hook: Hook<'progress'>): () => void;
  onComplete(hook: Hook<'complete'>): () => void;
  onFail(hook: Hook<'fail'>): () => void;
  onRetry(hook: Hook<'retry'>): () => void;
  onRetryExhausted(hook: Hook<'retryExhausted'>): () => void;
  /** Workers start processing jobs; other roles only connect notifications. */
  start(): Promise<void>;
  /** Throws when the backend does not answer (for /readyz). */
  ping(): Promise<void>;
  stop(options?: { drainTimeoutMs?: number }): Promise<{ drained: boolean; aborted: number }>;
}

// ---------------------------------------------------------------------------------------------

export class SchedulerError extends CodedError {}

/** `every` is not an accepted interval or cron expression, or runs more often than allowed. */
export class InvalidScheduleError extends SchedulerError {
  constructor(message: string) { super('INVALID_SCHEDULE', 400, message); }
}

/** The job backend did not become ready, or stopped answering. */
export class SchedulerUnavailableError extends SchedulerError {
  constructor(message: string, options?: ErrorOptions) { super('SCHEDULER_UNAVAILABLE', 503, message, options); }
}

/** Another process held the schedule lock for longer than scheduleLockWaitMs. */
export class ScheduleBusyError extends SchedulerError {
  constructor(scheduleId: string) { super('SCHEDULE_BUSY', 503, `schedule ${scheduleId} is being changed by another process; retry`); }
}

// ---------------------------------------------------------------------------------------------

const processEveryMsDefault = 5_000;
const maxConcurrencyDefault = 10;
const minIntervalMsDefault = 60_000;
const drainTimeoutMsDefault = 10_000;
const attemptsDefault = 3;
const attemptsMax = 20;
const backoffMsDefault = 5_000;
const backoffMaxMsDefault = 600_000;
const backoffJitter = 0.2;
const scheduleLockTtlMs = 15_000;
const scheduleLockWaitMs = 10_000;
/** Bound of each shutdown step (unlocking, closing connections, pending hooks). */
const stopStepTimeoutMs = 3_000;
const pingTimeoutMs = 2_000;
const everyCharsMax = 100;
/**
 * Cron probing: occurrences and time span examined for the shortest gap. Irregular gaps (hour,
 * day, month boundaries) show up within a few hundred runs or a year; each run costs ~0.3 ms.
 */
const cronProbeRunsMax = 250;
const cronProbeSpanMs = 400 * 24 * 3600 * 1000;

const jobNamePattern = /^[a-z][a-z0-9:-]{0,63}$/;
const scheduleIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const keyPrefixPattern = /^[A-Za-z0-9{}:._-]{1,64}$/;
const humanUnitsMs: Record<string, number> = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 };
const humanPartPattern = /^([1-9]\d{0,5}) (second|minute|hour|day|week)s?$/;
// Cron fields: digits, operators and month/day names only, so no field can read as a human interval.
const cronFieldPattern = /^(?:[0-9*/,?#LW-]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|SUN|MON|TUE|WED|THU|FRI|SAT)+$/i;

function requirePositive(name: string, value: number | undefined, fallback?: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new TypeError(`${name} must be a positive integer (ms or count), got ${String(value)}`);
  return v;
}

function assertJobName(jobName: string): void {
  if (typeof jobName !== 'string' || !jobNamePattern.test(jobName)) throw new TypeError(`job name ${JSON.stringify(jobName)} must match ${jobNamePattern.source}`);
}

function assertScheduleId(scheduleId: string): void {
  if (typeof scheduleId !== 'string' || !scheduleIdPattern.test(scheduleId)) {
    throw new InvalidScheduleError(`schedule id ${JSON.stringify(String(scheduleId).slice(0, 60))} must match ${scheduleIdPattern.source}`);
  }
}

// ---------------------------------------------------------------------------------------------
// `every`: a strict subset of what Agenda accepts, cross-checked with Agenda's own computation.

/** Next run after `from` as Agenda computes it for a recurring job; null when it cannot. */
function agendaNextRun(agenda: Agenda, every: string, timezone: string | undefined, from: Date): Date | null {
  const probe = agenda.create('tally-every-probe', {}); // never saved
  probe.attrs.lastRunAt = from;
  probe.repeatEvery(every, { timezone });
  const next = probe.attrs.nextRunAt;
  return probe.attrs.failReason || !(next instanceof Date) || Number.isNaN(next.getTime()) ? null : next;
}

function parseHuman(agenda: Agenda, text: string): ParsedEvery | null {
  const parts = text.split(/ and |, /);
  let ms = 0;
  for (const part of parts) {
    const match = humanPartPattern.exec(part);
    if (!match) return null;
    ms += Number(match[1]) * humanUnitsMs[match[2]!]!;
  }
  const from = new Date();
  const next = agendaNextRun(agenda, text, undefined, from);
  if (next === null || next.getTime() - from.getTime() !== ms) throw new InvalidScheduleError(`interval ${JSON.stringify(text)} is not read the same way by the job scheduler`);
  return { every: text, kind: 'interval', minIntervalMs: ms };
}

function parseCron(agenda: Agenda, text: string, minIntervalMs: number): ParsedEvery {
  const fields = text.split(' ');
  if (fields.length < 5 || fields.length > 6 || !fields.every((f) => cronFieldPattern.test(f))) {
    throw new InvalidScheduleError(`${JSON.stringify(text)} is neither an interval such as "15 minutes" or "1 hour and 30 minutes" nor a cron expression such as "0 * * * *"`);
  }
  const start = Date.now();
  let previous = agendaNextRun(agenda, text, 'UTC', new Date(start));
  if (previous === null) throw new InvalidScheduleError(`cron expression ${JSON.stringify(text)} is not valid`);
  let minGapMs = Number.POSITIVE_INFINITY;
  // At least one gap (the second run may be years away), then until the bounds or a gap too short.
  for (let runs = 1; runs < cronProbeRunsMax && (runs === 1 || previous.getTime() - start < cronProbeSpanMs) && minGapMs >= minIntervalMs; runs++) {
    const next = agendaNextRun(agenda, text, 'UTC', previous);
    if (next === null) break;
    minGapMs = Math.min(minGapMs, next.getTime() - previous.getTime());
    previous = next;
  }
  if (!Number.isFinite(minGapMs)) throw new InvalidScheduleError(`cron expression ${JSON.stringify(text)} runs at most once`);
  return { every: text, kind: 'cron', minIntervalMs: minGapMs };
}

function parseEvery(agenda: Agenda, every: string, minIntervalMs: number): ParsedEvery {
  if (typeof every !== 'string' || every.length === 0 || every.length > everyCharsMax) {
    throw new InvalidScheduleError(`every must be a string of 1..${everyCharsMax} characters`);
  }
  const text = every.trim().replace(/\s+/g, ' ');
  const parsed = parseHuman(agenda, text.toLowerCase()) ?? parseCron(agenda, text, minIntervalMs);
  if (parsed.minIntervalMs < minIntervalMs) {
    throw new InvalidScheduleError(`${JSON.stringify(text)} would run every ${parsed.minIntervalMs / 1000} s; the shortest allowed interval is ${minIntervalMs / 1000} s`);
  }
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Backends and locks

interface Lock { withLock<T>(name: string, fn: () => Promise<T>): Promise<T> }

interface BackendParts {
  kind: 'redis' | 'mongo';
  backend: AgendaBackend;
  notificationChannel?: RedisNotificationChannel;
  lock: Lock;
  ping(): Promise<void>;
  close(): Promise<void>;
  lastError(): Error | null;
}

/** A lock with a TTL (so a crashed holder frees it) and a bounded wait. */
function createLock(acquire: (key: string, token: string) => Promise<boolean>, release: (key: string, token: string) => Promise<void>): Lock {
  return {
    async withLock(name, fn) {
      const token = randomUUID();
      const deadline = Date.now() + scheduleLockWaitMs;
      while (!(await acquire(name, token))) {
        if (Date.now() > deadline) throw new ScheduleBusyError(name);
        await sleep(20 + Math.floor(Math.random() * 40));
      }
      try {
        return await fn();
      } finally {
        await release(name, token);
      }
    },
  };
}

const releaseScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/** ioredis' default disconnectTimeout (2 s) would keep a process alive after a failed connection. */
const disconnectTimeoutMs = 200;

/**
 * The ioredis connection of the Redis backend: a cluster client when redisClusterUrls is given
 * (credentials from the first URL apply to every node), else a standalone one. Tally owns it.
 */
function connectIoRedis(options: SchedulerOptions): Redis | Cluster {
  const socket = { connectTimeout: options.readyTimeoutMs, disconnectTimeout: disconnectTimeoutMs };
  const clusterUrls = options.redisClusterUrls ?? [];
  if (clusterUrls.length === 0) return new Redis(options.redisUrl!, socket);
  const first = new URL(clusterUrls[0]!);
  return new Cluster(clusterUrls, {
    redisOptions: {
      ...socket,
      username: first.username ? decodeURIComponent(first.username) : undefined,
      password: first.password ? decodeURIComponent(first.password) : undefined,
      tls: first.protocol === 'rediss:' ? {} : undefined,
    },
  });
}

/** Errors of an ioredis client, reported once per outage (it emits one per reconnect attempt). */
function watchConnection(redis: Redis | Cluster, report: (e: Error, context: string) => void): () => Error | null {
  let lastError: Error | null = null;
  let reported = false;
  redis.on('ready', () => { reported = false; lastError = null; });
  redis.on('error', (error: Error) => {
    lastError = error;
    if (!reported) { reported = true; report(error, 'redis connection'); }
  });
  return () => lastError;
}

function redisParts(options: SchedulerOptions, report: (e: Error, context: string) => void): BackendParts {
  const redis = connectIoRedis(options);
  const lastError = watchConnection(redis, report);
  // The backend is typed for a standalone client; a Cluster serves the same commands, and the
  // hash-tagged prefix keeps every key (and every script) in one slot.
  const backend = new RedisBackend({ redis: redis as Redis, keyPrefix: options.keyPrefix, channelName: options.channelName });
  const channel = backend.notificationChannel as unknown as RedisNotificationChannel;
  channel.on('error', (error: Error) => report(error, 'notification channel'));
  const lockKey = (name: string) => `${options.keyPrefix}tally:lock:${name}`;
  return {
    kind: 'redis',
    backend,
    notificationChannel: channel,
    lock: createLock(
      async (name, token) => (await redis.set(lockKey(name), token, 'PX', scheduleLockTtlMs, 'NX')) === 'OK',
      async (name, token) => { await redis.eval(releaseScript, 1, lockKey(name), token); },
    ),
    async ping() { await redis.exists(lockKey('ping')); },
    async close() { redis.disconnect(); },
    lastError,
  };
}

type LockDoc = { _id: string; token: string; expiresAt: Date };

async function mongoParts(options: SchedulerOptions, report: (e: Error, context: string) => void): Promise<BackendParts> {
  const client = new MongoClient(options.mongoUrl!, { serverSelectionTimeoutMS: options.readyTimeoutMs, connectTimeoutMS: options.readyTimeoutMs });
  try {
    await client.connect();
  } catch (error) {
    await client.close().catch(() => {});
    throw new SchedulerUnavailableError(`MongoDB did not answer within ${options.readyTimeoutMs} ms: ${(error as Error).message}`, { cause: error });
  }
  const db: Db = client.db();
  const locks = db.collection<LockDoc>('agendaScheduleLocks');
  try {
    await locks.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 }); // MongoDB drops expired locks
  } catch (error) {
    await client.close().catch(() => {});
    throw new SchedulerUnavailableError(`MongoDB refused the lock index: ${(error as Error).message}`, { cause: error });
  }
  let channel: RedisNotificationChannel | undefined;
  let pubsub: Redis | Cluster | undefined;
  if (options.redisUrl || options.redisClusterUrls?.length) {
    pubsub = connectIoRedis(options);
    watchConnection(pubsub, report);
    channel = new RedisNotificationChannel({ redis: pubsub as Redis, channelName: options.channelName });
    channel.on('error', (error: Error) => report(error, 'notification channel'));
  }
  return {
    kind: 'mongo',
    backend: new MongoBackend({ mongo: db, collection: options.mongoCollection ?? 'agendaJobs' }),
    notificationChannel: channel,
    lock: createLock(
      async (name, token) => {
        try {
          await locks.insertOne({ _id: name, token, expiresAt: new Date(Date.now() + scheduleLockTtlMs) });
          return true;
        } catch (error) {
          if ((error as { code?: number }).code !== 11000) throw error;
          await locks.deleteOne({ _id: name, expiresAt: { $lt: new Date() } }); // a crashed holder's
          return false;
        }
      },
      async (name, token) => { await locks.deleteOne({ _id: name, token }); },
    ),
    async ping() { await db.command({ ping: 1 }); },
    async close() {
      pubsub?.disconnect();
      await client.close();
    },
    lastError: () => null,
  };
}

/**
 * Agenda calls backend.connect() in its constructor without a catch: a failure would be an
 * unhandled rejection. This wrapper records it and lets `ready` wait (createScheduler times out).
 */
function guardConnect(inner: AgendaBackend, onFailure: (error: Error) => void): AgendaBackend {
  return {
    name: inner.name,
    get repository() { return inner.repository; },
    get notificationChannel() { return inner.notificationChannel; },
    get logger() { return inner.logger; },
    get ownsConnection() { return inner.ownsConnection; },
    connect: () => inner.connect().catch((error: Error) => { onFailure(error); return new Promise<void>(() => {}); }),
    disconnect: () => inner.disconnect(),
  };
}

// ---------------------------------------------------------------------------------------------

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

function defaultProcessName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Connects the backend (waiting at most readyTimeoutMs) and returns the scheduler. */
export async function createScheduler(options: SchedulerOptions): Promise<Scheduler> {
  checkOptions(options);
  const report = options.onError ?? ((error: Error, context: string) => { console.error(`[scheduler] ${context}: ${error.message}`); });
  const processName = options.processName ?? defaultProcessName();
  const minIntervalMs = requirePositive('minIntervalMs', options.minIntervalMs, minIntervalMsDefault);
  const recurringJobName = options.recurringJobName ?? 'snapshot-schedule';
  assertJobName(recurringJobName);

  const parts = options.mongoUrl ? await mongoParts(options, report) : redisParts(options, report);
  let connectFailure: Error | null = null;
  const agenda = new Agenda({
    backend: guardConnect(parts.backend, (error) => { connectFailure = error; }),
    name: processName,
    processEvery: requirePositive('processEveryMs', options.processEveryMs, processEveryMsDefault),
    maxConcurrency: requirePositive('maxConcurrency', options.maxConcurrency, maxConcurrencyDefault),
    defaultLockLifetime: options.lockLifetimeMs,
    removeOnComplete: true,
    ...(parts.notificationChannel && parts.kind === 'mongo' ? { notificationChannel: parts.notificationChannel } : {}),
  });
  const ready = await within(agenda.ready, options.readyTimeoutMs);
  if (ready.timedOut) {
    await within(parts.close(), stopStepTimeoutMs);
    const cause = connectFailure ?? parts.lastError();
    throw new SchedulerUnavailableError(
      `the ${parts.kind} job backend was not ready within ${options.readyTimeoutMs} ms${cause ? `: ${(cause as Error).message}` : ''}`,
      { cause },
    );
  }
  agenda.on('error', (error: Error) => report(error, 'agenda'));
  return buildScheduler({ options, agenda, parts, processName, minIntervalMs, recurringJobName, report });
}

interface Internals {
  options: SchedulerOptions;
  agenda: Agenda;
  parts: BackendParts;
  processName: string;
  minIntervalMs: number;
  recurringJobName: string;
  report: (error: Error, context: string) => void;
}

/** Per-job bookkeeping shared by the handler wrapper and the event listeners. */
function createRunTracker(report: Internals['report']) {
  const hooks: { [K in HookName]: Set<Hook<K>> } = {
    start: new Set(), progress: new Set(), complete: new Set(), fail: new Set(), retry: new Set(), retryExhausted: new Set(),
  };
  /** Hooks of one job run one after another, in event order. */
  const chains = new Map<string, Promise<void>>();
  const inflight = new Set<string>();
  const waiters = new Set<() => void>();

  function emit<K extends HookName>(name: K, event: HookEvents[K]): Promise<void> {
    const previous = chains.get(event.jobId) ?? Promise.resolve();
    const next = previous.then(async () => {
      for (const hook of hooks[name]) {
        try {
          await hook(event);
        } catch (error) {
          report(error as Error, `${name} hook of job ${event.jobName} ${event.jobId}`);
        }
      }
    });
    chains.set(event.jobId, next);
    void next.finally(() => { if (chains.get(event.jobId) === next) chains.delete(event.jobId); });
    return next;
  }

  function add<K extends HookName>(name: K, hook: Hook<K>): () => void {
    hooks[name].add(hook);
    return () => { hooks[name].delete(hook); };
  }

  return {
    emit,
    add,
    started(jobId: string) { inflight.add(jobId); },
    finished(jobId: string) {
      inflight.delete(jobId);
      if (inflight.size === 0) for (const wake of waiters) wake();
    },
    /** true when no job is running (anymore) within ms. */
    async idle(ms: number): Promise<boolean> {
      if (inflight.size === 0) return true;
      let wake = () => {};
      const done = new Promise<true>((resolve) => { wake = () => resolve(true); });
      waiters.add(wake);
      try {
        return !(await within(done, ms)).timedOut;
      } finally {
        waiters.delete(wake);
      }
    },
    pendingHooks: () => Promise.allSettled([...chains.values()]),
  };
}

function buildScheduler(internals: Internals): Scheduler {
  const { options, agenda, parts, processName, minIntervalMs, recurringJobName, report } = internals;
  const tracker = createRunTracker(report);
  const attemptsByName = new Map<string, number>();
  const runAttempt = new Map<string, number>();
  const exhausted = new Set<string>();
  const controllers = new Map<string, AbortController>();
  let started = false;
  let channelConnected = false;
  let stopping: Promise<{ drained: boolean; aborted: number }> | null = null;

  const info = (job: Job, attempt: number): JobInfo => ({
    jobId: String(job.attrs._id), jobName: job.attrs.name, data: job.attrs.data, attempt, attempts: attemptsByName.get(job.attrs.name) ?? 1,
  });
  const failedAttempt = (job: Job) => job.attrs.failCount ?? 1;
  const ensureOpen = () => { if (stopping) throw new SchedulerUnavailableError('the scheduler is stopped'); };

  // Local events only: the process that runs a job reports it once; remote copies (remote=true)
  // arrive in every other process and are ignored.
  agenda.on('start', (job: JobWithId, remote?: boolean) => {
    if (remote) return;
    const id = String(job.attrs._id);
    const attempt = (job.attrs.failCount ?? 0) + 1;
    runAttempt.set(id, attempt);
    tracker.started(id);
    void tracker.emit('start', info(job, attempt));
  });
  agenda.on('success', (job: JobWithId, remote?: boolean) => {
    if (remote) return;
    void tracker.emit('complete', info(job, runAttempt.get(String(job.attrs._id)) ?? 1));
  });
  agenda.on('fail', (error: Error, job: JobWithId, remote?: boolean) => {
    if (remote) return;
    const event = info(job, failedAttempt(job));
    void tracker.emit('fail', { ...event, error, willRetry: event.attempt < event.attempts });
  });
  agenda.on('retry', (job: JobWithId, details: { delay: number; nextRunAt: Date; error: Error }, remote?: boolean) => {
    if (remote) return;
    void tracker.emit('retry', { ...info(job, failedAttempt(job)), error: details.error, delayMs: details.delay, nextRunAt: details.nextRunAt });
  });
  agenda.on('retry exhausted', (error: Error, job: JobWithId) => {
    exhausted.add(String(job.attrs._id));
    void tracker.emit('retryExhausted', { ...info(job, failedAttempt(job)), error });
  });
  agenda.on('complete', (job: JobWithId, remote?: boolean) => {
    if (remote) return;
    const id = String(job.attrs._id);
    runAttempt.delete(id);
    // A one-off job out of attempts would stay in the backend forever; the store keeps the outcome.
    if (exhausted.delete(id) && !job.attrs.nextRunAt) {
      job.remove().catch((error: Error) => report(error, `removing failed job ${id}`)).finally(() => tracker.finished(id));
    } else {
      tracker.finished(id);
    }
  });

  function define<D>(jobName: string, handler: JobHandler<D>, defineOptions: DefineOptions = {}): void {
    assertJobName(jobName);
    const attempts = requirePositive('attempts', defineOptions.attempts, attemptsDefault);
    if (attempts > attemptsMax) throw new TypeError(`attempts must be at most ${attemptsMax}`);
    attemptsByName.set(jobName, attempts);
    agenda.define<D>(jobName, async (job: Job<D>) => {
      const jobId = String(job.attrs._id);
      const controller = new AbortController();
      controllers.set(jobId, controller);
      let lastProgress: number | undefined = job.attrs.progress;
      const base = info(job as Job, runAttempt.get(jobId) ?? (job.attrs.failCount ?? 0) + 1) as JobInfo<D>;
      const ctx: JobContext<D> = {
        ...base,
        signal: controller.signal,
        async progress(percent: number) {
          if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) throw new RangeError('progress must be a number in 0..100');
          lastProgress = percent;
          await job.touch(percent);
          await tracker.emit('progress', { ...base, progress: percent });
        },
        async keepAlive() { await job.touch(lastProgress); },
      };
      try {
        await handler(ctx);
      } finally {
        controllers.delete(jobId);
      }
    }, {
      concurrency: defineOptions.concurrency,
      lockLifetime: defineOptions.lockLifetimeMs ?? options.lockLifetimeMs,
      removeOnComplete: true,
      backoff: backoffStrategies.exponential({
        delay: requirePositive('backoffMs', defineOptions.backoffMs, backoffMsDefault),
        maxDelay: requirePositive('backoffMaxMs', defineOptions.backoffMaxMs, backoffMaxMsDefault),
        factor: 2,
        jitter: backoffJitter,
        maxRetries: attempts - 1,
      }),
    });
  }

  /** The stored recurring jobs of scheduleId (the data filter is a substring match on Redis: re-checked). */
  async function scheduleJobs(scheduleId: string) {
    const { jobs } = await agenda.queryJobs({ name: recurringJobName, data: { scheduleId } });
    return jobs.filter((job) => (job.data as { scheduleId?: unknown } | undefined)?.scheduleId === scheduleId);
  }

  async function findSchedule(scheduleId: string): Promise<ScheduledJob[]> {
    assertScheduleId(scheduleId);
    return (await scheduleJobs(scheduleId)).map((job) => ({
      jobId: String(job._id), scheduleId, every: String(job.repeatInterval), nextRunAt: job.nextRunAt ?? null, lastRunAt: job.lastRunAt ?? null,
    }));
  }

  async function schedule(scheduleId: string, every: string, data: Record<string, unknown> = {}, scheduleOptions: { skipImmediate?: boolean } = {}) {
    ensureOpen();
    assertScheduleId(scheduleId);
    const parsed = parseEvery(agenda, every, minIntervalMs);
    const jobData = { ...data, scheduleId };
    return parts.lock.withLock(`schedule:${scheduleId}`, async () => {
      const [keep, ...extra] = await scheduleJobs(scheduleId);
      // Duplicates can only predate this lock (or come from a writer that bypassed it): heal them.
      for (const duplicate of extra) await agenda.cancel({ id: String(duplicate._id) });
      if (keep) {
        if (String(keep.repeatInterval) === parsed.every && JSON.stringify(keep.data) === JSON.stringify(jobData)) {
          return { jobId: String(keep._id), created: false, nextRunAt: keep.nextRunAt ?? null };
        }
        await agenda.cancel({ id: String(keep._id) });
      }
      const job = agenda.create(recurringJobName, jobData);
      job.repeatEvery(parsed.every, { timezone: parsed.kind === 'cron' ? 'UTC' : undefined, skipImmediate: scheduleOptions.skipImmediate ?? false });
      await job.save();
      return { jobId: String(job.attrs._id), created: keep === undefined, nextRunAt: job.attrs.nextRunAt ?? null };
    });
  }

  async function stop(stopOptions: { drainTimeoutMs?: number } = {}) {
    stopping ??= (async () => {
      const drainTimeoutMs = stopOptions.drainTimeoutMs ?? options.drainTimeoutMs ?? drainTimeoutMsDefault;
      let drained = true;
      let aborted = 0;
      if (started) {
        // Stop taking jobs; locked-but-not-started ones are unlocked for other workers.
        await within(agenda.stop(false), stopStepTimeoutMs);
        drained = await tracker.idle(drainTimeoutMs);
        if (!drained) {
          for (const controller of controllers.values()) { controller.abort(new Error('the scheduler is stopping')); aborted += 1; }
          await tracker.idle(stopStepTimeoutMs);
        }
      } else if (channelConnected) {
        await within(parts.notificationChannel!.disconnect(), stopStepTimeoutMs);
      }
      await within(tracker.pendingHooks(), stopStepTimeoutMs);
      await within(parts.close(), stopStepTimeoutMs);
      return { drained, aborted };
    })();
    return stopping;
  }

  return {
    processName,
    backend: parts.kind,
    define,
    async enqueue<D>(jobName: string, data: D) {
      ensureOpen();
      assertJobName(jobName);
      const job = await agenda.now(jobName, data);
      return String(job.attrs._id);
    },
    schedule,
    async unschedule(scheduleId: string) {
      ensureOpen();
      assertScheduleId(scheduleId);
      return parts.lock.withLock(`schedule:${scheduleId}`, async () => (await agenda.cancel({ name: recurringJobName, data: { scheduleId } })) > 0);
    },
    findSchedule,
    parseEvery: (every: string) => parseEvery(agenda, every, minIntervalMs),
    onStart: (hook) => tracker.add('start', hook),
    onProgress: (hook) => tracker.add('progress', hook),
    onComplete: (hook) => tracker.add('complete', hook),
    onFail: (hook) => tracker.add('fail', hook),
    onRetry: (hook) => tracker.add('retry', hook),
    onRetryExhausted: (hook) => tracker.add('retryExhausted', hook),
    async start() {
      ensureOpen();
      if (options.roles.worker) {
        await agenda.start();
        started = true;
      } else if (parts.notificationChannel && !channelConnected) {
        // Not a worker: connect only the channel, so enqueued jobs wake workers at once.
        await parts.notificationChannel.connect();
        channelConnected = true;
      }
    },
    async ping() {
      const result = await within(parts.ping(), pingTimeoutMs);
      if (result.timedOut) throw new SchedulerUnavailableError(`the ${parts.kind} job backend did not answer within ${pingTimeoutMs} ms`);
    },
    stop,
  };
}
