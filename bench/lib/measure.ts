// Measurements: closed-loop load on given connections, plus what redis-server reports for the same
// window (INFO commandstats: server time per call; INFO cpu: how busy the server was, which tells
// whether the server or the client limited the figure).
//
// The machine is shared (2 cores, other work running), so loads that are compared with each other
// run in interleaved rounds (A B C, B C A, C A B, ...): a burst of outside load then hits every
// side instead of one. Rates are the median over the rounds; latencies pool every round's samples.
import type { BenchContext } from './types.ts';
import { serverCounters, serverDelta, type BenchClient, type BenchRedis } from './redis-fixture.ts';
import { sortSamples } from './percentiles.ts';
import { runLoad } from './timing.ts';

export interface Measurement {
  label: string;
  /** Operations per second, median over the rounds. */
  perSecond: number;
  /** Ascending, microseconds, every round's samples; empty unless `latency` was asked for. */
  latencyUs: number[];
  /** Server microseconds per call of `command` (commandstats), the machine's cost per call. */
  serverUsPerCall: number;
  /** redis-server CPU time over the windows, in percent of one core. */
  serverCpuPercent: number;
}

export interface Load {
  label: string;
  clients: BenchClient[];
  /** Operations in flight per connection: 1 means no pipelining. */
  inFlightPerClient: number;
  op: (client: BenchClient) => Promise<unknown>;
  /** The command whose commandstats are read (`fcall`, `fcall_ro`, `zrevrange`). */
  command: string;
  latency?: boolean;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs the loads in `ctx.rounds` interleaved rounds of `ctx.measureMs / ctx.rounds` each. */
export async function measureLoads(ctx: BenchContext, redis: BenchRedis, loads: Load[]): Promise<Measurement[]> {
  const rates = loads.map(() => [] as number[]);
  const samples = loads.map(() => [] as number[]);
  const server = loads.map(() => ({ calls: 0, usec: 0, cpuSeconds: 0, elapsedMs: 0 }));
  for (let round = 0; round < ctx.rounds; round++) {
    for (let k = 0; k < loads.length; k++) {
      const index = (k + round) % loads.length;
      const load = loads[index]!;
      const result = await runLoad({
        clients: load.clients,
        inFlightPerClient: load.inFlightPerClient,
        warmupMs: ctx.warmupMs,
        measureMs: ctx.measureMs / ctx.rounds,
        op: load.op,
        latency: load.latency,
        probe: () => serverCounters(redis.admin),
      });
      const [before, after] = result.probes!;
      const delta = serverDelta(before, after, load.command);
      rates[index]!.push(result.perSecond);
      for (const sample of result.latencyUs) samples[index]!.push(sample);
      const total = server[index]!;
      total.calls += delta.calls;
      total.usec += delta.usec;
      total.cpuSeconds += delta.cpuSeconds;
      total.elapsedMs += result.elapsedMs;
    }
  }
  return loads.map((load, i) => {
    const total = server[i]!;
    const measurement: Measurement = {
      label: load.label,
      perSecond: median(rates[i]!),
      latencyUs: sortSamples(samples[i]!),
      serverUsPerCall: total.calls > 0 ? total.usec / total.calls : NaN,
      serverCpuPercent: (total.cpuSeconds / (total.elapsedMs / 1000)) * 100,
    };
    ctx.log(`  ${load.label}: ${Math.round(measurement.perSecond).toLocaleString('en-US')}/s ` +
      `(rounds: ${rates[i]!.map((r) => Math.round(r)).join(', ')}), server ${measurement.serverUsPerCall.toFixed(1)} us/call, ` +
      `server CPU ${measurement.serverCpuPercent.toFixed(0)}%`);
    return measurement;
  });
}

/** A note saying how busy the server was on each side, to tell a server limit from a client one. */
export function cpuNote(ours: Measurement, theirs: Measurement): string {
  return `redis-server CPU ${ours.serverCpuPercent.toFixed(0)}% vs ${theirs.serverCpuPercent.toFixed(0)}% of one core; ` +
    `server time ${ours.serverUsPerCall.toFixed(1)} vs ${theirs.serverUsPerCall.toFixed(1)} us per call`;
}
