// The one `sleep` and the one `until` of the tests and benchmarks. `until` throws when its
// bound runs out, so a test that waits for something can never pass because it stopped waiting.

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface UntilOptions {
  /** What is awaited, for the timeout message ("the replica to sync"). */
  what: string;
  timeoutMs?: number;
  /** Pause between two checks. */
  stepMs?: number;
}

const timeoutMsDefault = 10_000;
const stepMsDefault = 50;

/** Resolves once predicate() is true; throws after timeoutMs. An error thrown by predicate ends the wait. */
export async function until(predicate: () => boolean | Promise<boolean>, options: UntilOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? timeoutMsDefault;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what}`);
    await sleep(options.stepMs ?? stepMsDefault);
  }
}

/** The error the promise rejects with; throws when it fulfils instead. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}
