// What every `tally` command module gets: the environment, a scoped ledger connection, and
// stdout; plus the usage error (exit 2) that parsers cannot catch.
import type { Env } from '../config.ts';
import type { Ledger } from '../ledger/client.ts';
import type { RedisConnection } from '../connections.ts';

export interface CliContext {
  env: Env;
  /** Connects to Redis for the duration of `fn`, then closes. */
  withLedger<T>(fn: (ledger: Ledger, redis: RedisConnection) => Promise<T>): Promise<T>;
  /** Aborted once stdout's reader has gone away (EPIPE); print is a no-op from then on. */
  outputClosed: AbortSignal;
  /** One line on stdout. */
  print(line: string): void;
}

/** A usage mistake the parser could not catch (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
