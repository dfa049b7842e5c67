// Structured JSON logs (pino) on stdout. One root logger per process; requests get a child
// logger carrying their request id (src/http/request-log.ts).
import { pino, type Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type { Logger };

export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({
    level,
    base: { service: 'tally', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Never log credentials, even if a future log call passes headers along.
    redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.authorization'], censor: '[redacted]' },
  });
}
