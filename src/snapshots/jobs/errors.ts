// The typed errors of the job scheduler; codes, statuses and retryability in src/errors.ts.
import { TallyError, type CodeOf } from '../../errors.ts';

export class SchedulerError extends TallyError {
  declare readonly code: CodeOf<'jobs'>;

  constructor(code: CodeOf<'jobs'>, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** `every` is not an accepted interval or cron expression, or runs more often than allowed. */
export class InvalidScheduleError extends SchedulerError {
  constructor(message: string) { super('INVALID_SCHEDULE', message); }
}

/** The job backend did not become ready, or stopped answering. */
export class SchedulerUnavailableError extends SchedulerError {
  constructor(message: string, options?: ErrorOptions) { super('SCHEDULER_UNAVAILABLE', message, options); }
}

/** Another process held the schedule lock for longer than scheduleLockWaitMs. */
export class ScheduleBusyError extends SchedulerError {
  constructor(scheduleId: string) { super('SCHEDULE_BUSY', `schedule ${scheduleId} is being changed by another process; retry`); }
}
