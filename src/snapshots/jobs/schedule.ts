// `every` of a recurring job: a human interval (`15 minutes`, `1 hour and 30 minutes`) or a
// cron expression (UTC), a strict subset of what Agenda accepts, cross-checked with Agenda's
// own computation so both read it the same way; plus the schedule id rule.
import type { Agenda } from 'agenda';
import { InvalidScheduleError } from './errors.ts';

export interface ParsedEvery {
  /** Normalized text, as stored with the job. */
  every: string;
  kind: 'interval' | 'cron';
  /** The shortest gap between two runs (for cron, over the probed year). */
  minIntervalMs: number;
}

const everyCharsMax = 100;
/**
 * Cron probing: occurrences and time span examined for the shortest gap. Irregular gaps (hour,
 * day, month boundaries) show up within a few hundred runs or a year; each run costs ~0.3 ms.
 */
const cronProbeRunsMax = 250;
const cronProbeSpanMs = 400 * 24 * 3600 * 1000;

const scheduleIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const humanUnitsMs: Record<string, number> = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 };
const humanPartPattern = /^([1-9]\d{0,5}) (second|minute|hour|day|week)s?$/;
// Cron fields: digits, operators and month/day names only, so no field can read as a human interval.
const cronFieldPattern = /^(?:[0-9*/,?#LW-]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|SUN|MON|TUE|WED|THU|FRI|SAT)+$/i;

export function assertScheduleId(scheduleId: string): void {
  if (typeof scheduleId !== 'string' || !scheduleIdPattern.test(scheduleId)) {
    throw new InvalidScheduleError(`schedule id ${JSON.stringify(String(scheduleId).slice(0, 60))} must match ${scheduleIdPattern.source}`);
  }
}

/** Validates `every` and refuses anything that would run more often than minIntervalMs. */
export function parseEvery(agenda: Agenda, every: string, minIntervalMs: number): ParsedEvery {
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
