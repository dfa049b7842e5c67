// Recurring jobs: one Agenda job per scheduleId, found by the scheduleId in its data. Changes run
// under the schedule lock, so N processes calling schedule() at once leave exactly one job (and
// heal older duplicates).
import type { Agenda } from 'agenda';
import type { Lock } from './lock.ts';
import { assertScheduleId, parseEvery } from './schedule.ts';
import type { ScheduledJob } from './types.ts';

/** The job name schedule() registers; the worker defines its handler. */
export const recurringJobName = 'snapshot-schedule';

export interface ScheduleResult { jobId: string; created: boolean; nextRunAt: Date | null }

/** The stored recurring jobs of scheduleId (the data filter is a substring match on Redis: re-checked). */
async function scheduleJobs(agenda: Agenda, scheduleId: string) {
  const { jobs } = await agenda.queryJobs({ name: recurringJobName, data: { scheduleId } });
  return jobs.filter((job) => (job.data as { scheduleId?: unknown } | undefined)?.scheduleId === scheduleId);
}

export async function findSchedule(agenda: Agenda, scheduleId: string): Promise<ScheduledJob[]> {
  assertScheduleId(scheduleId);
  return (await scheduleJobs(agenda, scheduleId)).map((job) => ({
    jobId: String(job._id), scheduleId, every: String(job.repeatInterval), nextRunAt: job.nextRunAt ?? null, lastRunAt: job.lastRunAt ?? null,
  }));
}

/** Registers (or replaces, if `every` or data changed) the recurring job of scheduleId. */
export async function schedule(
  agenda: Agenda, lock: Lock, minIntervalMs: number,
  request: { scheduleId: string; every: string; data: Record<string, unknown>; skipImmediate: boolean },
): Promise<ScheduleResult> {
  const { scheduleId } = request;
  assertScheduleId(scheduleId);
  const parsed = parseEvery(agenda, request.every, minIntervalMs);
  const jobData = { ...request.data, scheduleId };
  return lock.withLock(`schedule:${scheduleId}`, async () => {
    const [keep, ...extra] = await scheduleJobs(agenda, scheduleId);
    // Duplicates can only predate this lock (or come from a writer that bypassed it): heal them.
    for (const duplicate of extra) await agenda.cancel({ id: String(duplicate._id) });
    if (keep) {
      if (String(keep.repeatInterval) === parsed.every && JSON.stringify(keep.data) === JSON.stringify(jobData)) {
        return { jobId: String(keep._id), created: false, nextRunAt: keep.nextRunAt ?? null };
      }
      await agenda.cancel({ id: String(keep._id) });
    }
    const job = agenda.create(recurringJobName, jobData);
    job.repeatEvery(parsed.every, { timezone: parsed.kind === 'cron' ? 'UTC' : undefined, skipImmediate: request.skipImmediate });
    await job.save();
    return { jobId: String(job.attrs._id), created: keep === undefined, nextRunAt: job.attrs.nextRunAt ?? null };
  });
}

/** true when a recurring job was removed. */
export async function unschedule(agenda: Agenda, lock: Lock, scheduleId: string): Promise<boolean> {
  assertScheduleId(scheduleId);
  return lock.withLock(`schedule:${scheduleId}`, async () => (await agenda.cancel({ name: recurringJobName, data: { scheduleId } })) > 0);
}
