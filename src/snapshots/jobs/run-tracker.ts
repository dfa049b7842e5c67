// Run tracking of one process: the attempt number of each run, the jobs running now (for a
// bounded drain, and the abort signal of each), and the retry-exhausted hooks. Agenda's events
// arrive in every process; the process that runs a job counts it once and ignores the remote
// copies (remote=true).
import type { Agenda, Job, JobWithId } from 'agenda';
import { within } from '../../time.ts';
import type { ErrorReporter, JobInfo, RetryExhaustedEvent } from './types.ts';

export type RetryExhaustedHook = (event: RetryExhaustedEvent) => void | Promise<void>;

export interface RunTracker {
  /** Runs of jobName have this many attempts in all (from define). */
  setAttempts(jobName: string, attempts: number): void;
  /** Called by the handler wrapper as a run begins: its info and abort signal; end() as it returns. */
  begin(job: Job): { info: JobInfo; signal: AbortSignal; end(): void };
  onRetryExhausted(hook: RetryExhaustedHook): () => void;
  /** true when no job is running (anymore) within ms. */
  idle(ms: number): Promise<boolean>;
  /** Aborts every running job's signal; returns how many. */
  abortAll(reason: Error): number;
  /** Settles when every hook started so far has. */
  pendingHooks(): Promise<unknown>;
}

/** Hooks run one after another; a failing hook is reported and the next one still runs. */
function createHooks(report: ErrorReporter) {
  const hooks = new Set<RetryExhaustedHook>();
  const pending = new Set<Promise<void>>();
  return {
    add(hook: RetryExhaustedHook): () => void {
      hooks.add(hook);
      return () => { hooks.delete(hook); };
    },
    emit(event: RetryExhaustedEvent): void {
      const run = (async () => {
        for (const hook of hooks) {
          try {
            await hook(event);
          } catch (error) {
            report(error as Error, `retryExhausted hook of job ${event.jobName} ${event.jobId}`);
          }
        }
      })();
      pending.add(run);
      void run.finally(() => pending.delete(run));
    },
    settled: () => Promise.allSettled([...pending]),
  };
}

/** The jobs running in this process, each with its AbortController. */
function createInflight() {
  const running = new Set<string>();
  const controllers = new Map<string, AbortController>();
  const waiters = new Set<() => void>();
  return {
    started(jobId: string) { running.add(jobId); },
    finished(jobId: string) {
      running.delete(jobId);
      if (running.size === 0) for (const wake of waiters) wake();
    },
    controllers,
    async idle(ms: number): Promise<boolean> {
      if (running.size === 0) return true;
      let wake = () => {};
      const done = new Promise<true>((resolve) => { wake = () => resolve(true); });
      waiters.add(wake);
      try {
        return !(await within(done, ms)).timedOut;
      } finally {
        waiters.delete(wake);
      }
    },
  };
}

export function createRunTracker(agenda: Agenda, report: ErrorReporter): RunTracker {
  const attemptsByName = new Map<string, number>();
  const runAttempt = new Map<string, number>();
  const exhausted = new Set<string>();
  const hooks = createHooks(report);
  const inflight = createInflight();
  const info = (job: Job, attempt: number): JobInfo => ({
    jobId: String(job.attrs._id), jobName: job.attrs.name, data: job.attrs.data, attempt, attempts: attemptsByName.get(job.attrs.name) ?? 1,
  });

  agenda.on('start', (job: JobWithId, remote?: boolean) => {
    if (remote) return;
    const id = String(job.attrs._id);
    runAttempt.set(id, (job.attrs.failCount ?? 0) + 1);
    inflight.started(id);
  });
  agenda.on('retry exhausted', (error: Error, job: JobWithId) => {
    exhausted.add(String(job.attrs._id));
    hooks.emit({ ...info(job, job.attrs.failCount ?? 1), error });
  });
  agenda.on('complete', (job: JobWithId, remote?: boolean) => {
    if (remote) return;
    const id = String(job.attrs._id);
    runAttempt.delete(id);
    // A one-off job out of attempts would stay in the backend forever; the store keeps the outcome.
    if (exhausted.delete(id) && !job.attrs.nextRunAt) {
      job.remove().catch((error: Error) => report(error, `removing failed job ${id}`)).finally(() => inflight.finished(id));
    } else {
      inflight.finished(id);
    }
  });

  return {
    setAttempts: (jobName, attempts) => { attemptsByName.set(jobName, attempts); },
    begin(job) {
      const jobId = String(job.attrs._id);
      const controller = new AbortController();
      inflight.controllers.set(jobId, controller);
      const attempt = runAttempt.get(jobId) ?? (job.attrs.failCount ?? 0) + 1;
      return { info: info(job, attempt), signal: controller.signal, end: () => { inflight.controllers.delete(jobId); } };
    },
    onRetryExhausted: (hook) => hooks.add(hook),
    idle: (ms) => inflight.idle(ms),
    abortAll(reason) {
      for (const controller of inflight.controllers.values()) controller.abort(reason);
      return inflight.controllers.size;
    },
    pendingHooks: () => hooks.settled(),
  };
}
