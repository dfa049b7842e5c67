// Safe retries for ledger calls. A call that failed on the connection (socket closed, timeout,
// client offline) may or may not have run on the server. Repeating it is safe only when it cannot
// apply twice: read-only functions, and writes that carry an opId (a repeat returns the recorded
// reply). Writes without an opId are never retried: the caller gets the connection error.
import { sleep } from '../time.ts';
import { ErrorReply, TimeoutError } from 'redis';

export interface RetryPolicy {
  /** Attempts of a call that failed on the connection (only retry-safe calls are repeated). */
  attemptsMax: number;
  /**
   * Attempts of a call Redis refused without running it (TRYAGAIN while a slot migrates,
   * CLUSTERDOWN, LOADING, MASTERDOWN): always safe to repeat, and a slot's migration can take
   * seconds, so this bound is longer (about 10 s of backoff in total).
   */
  transientAttemptsMax: number;
  firstDelayMs: number;
  delayMaxMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attemptsMax: 5, transientAttemptsMax: 14, firstDelayMs: 50, delayMaxMs: 1_000 };

/** A failure of the connection rather than an answer from the server. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof ErrorReply) return false;
  // node-redis' TimeoutError has neither a name nor a message of its own.
  if (error instanceof TimeoutError) return true;
  // node-redis: SocketClosedUnexpectedlyError, ClientOfflineError, ClientClosedError,
  // ConnectionTimeoutError, TimeoutError, SocketTimeoutError; plus raw socket errors and the
  // cluster's "no node reachable" errors while a master restarts.
  return /Socket|Offline|Closed|Timeout|ECONNREFUSED|ECONNRESET|EPIPE|RootNodesUnavailable|MaxCommandRedirections|LOADING|CLUSTERDOWN|TRYAGAIN/i
    .test(`${error.name} ${(error as { code?: string }).code ?? ''} ${error.message}`);
}

/** Redis' own transient replies: the call did not run and can always be repeated. */
function isTransientReply(error: unknown): boolean {
  return error instanceof ErrorReply && /^(LOADING|TRYAGAIN|CLUSTERDOWN|MASTERDOWN)\b/.test(error.message);
}

export async function withRetries<T>(run: () => Promise<T>, retrySafe: boolean, policy = defaultRetryPolicy): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const transient = isTransientReply(error);
      if (!transient && !(retrySafe && isConnectionError(error))) throw error;
      if (attempt >= (transient ? policy.transientAttemptsMax : policy.attemptsMax)) throw error;
      const delayMs = Math.min(policy.delayMaxMs, policy.firstDelayMs * 2 ** (attempt - 1));
      await sleep(delayMs * (0.5 + Math.random() / 2));
    }
  }
}
