// Closed-loop load: a fixed number of operations in flight, each slot issuing its next operation
// as soon as the previous one answers. node-redis writes the commands issued in one tick as one
// batch, so several slots on one connection are pipelining; one slot per connection is not.
import { sortSamples } from './percentiles.ts';
import { sleep } from '../../testkit/wait.ts';

export interface LoadOptions<C, P = undefined> {
  clients: C[];
  /** Operations in flight per connection: 1 means no pipelining. */
  inFlightPerClient: number;
  warmupMs: number;
  measureMs: number;
  op: (client: C) => Promise<unknown>;
  /** Record the latency of each operation started during the measurement. */
  latency?: boolean;
  /** Read at the start and at the end of the measurement window (e.g. server counters). */
  probe?: () => Promise<P>;
}

export interface LoadResult<P = undefined> {
  /** Operations that completed during the measurement window. */
  ops: number;
  elapsedMs: number;
  perSecond: number;
  /** Ascending latencies in microseconds (empty unless asked for). */
  latencyUs: number[];
  /** The probe's readings at the start and the end of the window. */
  probes?: [P, P];
}

const latencySamplesMax = 5_000_000;

export async function runLoad<C, P = undefined>(options: LoadOptions<C, P>): Promise<LoadResult<P>> {
  let phase: 'warmup' | 'measure' | 'stop' = 'warmup';
  let ops = 0;
  let failure: { error: unknown } | undefined;
  const samples: number[] = [];

  async function slotLoop(client: C): Promise<void> {
    while (phase !== 'stop' && failure === undefined) {
      const startedInWindow = phase === 'measure';
      const start = performance.now();
      try {
        await options.op(client);
      } catch (error) {
        failure ??= { error };
        return;
      }
      if (phase !== 'measure') continue;
      ops++;
      if (options.latency && startedInWindow && samples.length < latencySamplesMax) {
        samples.push((performance.now() - start) * 1000);
      }
    }
  }

  const slots: Promise<void>[] = [];
  for (const client of options.clients) {
    for (let k = 0; k < options.inFlightPerClient; k++) slots.push(slotLoop(client));
  }
  await sleep(options.warmupMs);
  phase = 'measure';
  const measureStart = performance.now();
  const first = options.probe?.();
  await sleep(options.measureMs);
  phase = 'stop';
  const elapsedMs = performance.now() - measureStart;
  const last = options.probe?.();
  await Promise.all(slots);
  const result: LoadResult<P> = { ops, elapsedMs, perSecond: ops / (elapsedMs / 1000), latencyUs: sortSamples(samples) };
  if (first && last) result.probes = [await first, await last];
  if (failure) throw failure.error;
  return result;
}

/** Runs `task` for every item with at most `concurrency` at once (populating, not measuring). */
export async function runBounded<T>(items: T[], concurrency: number, task: (item: T, index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Elapsed wall time of `task` in milliseconds, and its result. */
export async function timed<T>(task: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const start = performance.now();
  const result = await task();
  return { ms: performance.now() - start, result };
}
