// The typed errors of the job scheduler (codes and HTTP statuses as the REST layer answers them).
import { CodedError } from '../../coded-error.ts';

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
