// The plain types the job modules share (options, job info, results); the Scheduler interface,
// which combines them with the other modules' types, is in scheduler.ts.

export type ErrorReporter = (error: Error, context: string) => void;

export interface SchedulerOptions {
  /** Redis backend and schedule lock; with mongoUrl, only job notifications (pub/sub). */
  redisUrl?: string;
  /** Seed nodes of a Redis Cluster, used instead of redisUrl; keyPrefix must carry a hash tag. */
  redisClusterUrls?: string[];
  /** MongoDB backend; takes precedence over redisUrl for job storage. */
  mongoUrl?: string;
  /** Redis key prefix of Agenda's keys and Tally's locks, e.g. `{tally:agenda}:`. */
  keyPrefix: string;
  /** Redis pub/sub channel of this deployment, e.g. `tally:agenda:prod`. */
  channelName: string;
  /** A job not touched for this long is presumed dead and may run elsewhere. */
  lockLifetimeMs: number;
  roles: { worker: boolean };
  /** How long createScheduler waits for the backend before failing. */
  readyTimeoutMs: number;
  /** Each Redis command's reply is awaited at most this long (default 5 s). */
  commandTimeoutMs?: number;
  /** Polling period for due jobs. Default 5 s. */
  processEveryMs?: number;
  /** Shortest accepted recurring interval. Default 60 s. */
  minIntervalMs?: number;
  /** Connection errors, Agenda errors and hook failures. Default: written to stderr. */
  onError?: ErrorReporter;
}

export interface DefineOptions {
  /** Runs in all, including the first. Default 3. */
  attempts?: number;
  /** Delay before the first retry; doubles each time (with ±20 % jitter), at most 10 min. Default 5 s. */
  backoffMs?: number;
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
  /** Records progress (0..100) with the job and renews its lock. */
  progress(percent: number): Promise<void>;
  /** Renews the lock without new progress. */
  keepAlive(): Promise<void>;
}

export type JobHandler<D = unknown> = (ctx: JobContext<D>) => Promise<void>;

/** A job failed its last attempt. */
export type RetryExhaustedEvent = JobInfo & { error: Error };

export interface ScheduledJob { jobId: string; scheduleId: string; every: string; nextRunAt: Date | null; lastRunAt: Date | null }

export interface StopResult { drained: boolean; aborted: number }
