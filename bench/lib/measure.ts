// One measurement: closed-loop load on the given connections, plus what redis-server reports for
// the same window (INFO commandstats: server time per call; INFO cpu: how busy the server was,
// which tells whether the server or the client limited the figure).
import type { BenchContext } from './types.ts';
import { serverCounters, serverDelta, type BenchClient, type BenchRedis } from './redis-fixture.ts';
import { runLoad } from './timing.ts';

export interface Measurement {
  perSecond: number;
  /** Ascending, microseconds; empty unless `latency` was asked for. */
  latencyUs: number[];
  /** Server microseconds per call of `command` (commandstats), the machine's cost per call. */
  serverUsPerCall: number;
  /** redis-server CPU time over the window, in percent of one core. */
  serverCpuPercent: number;
}

export interface MeasureOptions {
  label: string;
  clients: BenchClient[];
  inFlightPerClient: number;
  op: (client: BenchClient, slot: number) => Promise<unknown>;
  /** The command whose commandstats are read (`fcall`, `fcall_ro`, `zrevrange`). */
  command: string;
  latency?: boolean;
}

export async function measure(ctx: BenchContext, redis: BenchRedis, options: MeasureOptions): Promise<Measurement> {
  const result = await runLoad({
    clients: options.clients,
    inFlightPerClient: options.inFlightPerClient,
    warmupMs: ctx.warmupMs,
    measureMs: ctx.measureMs,
    op: options.op,
    latency: options.latency,
    probe: () => serverCounters(redis.admin),
  });
  const [before, after] = result.probes!;
  const server = serverDelta(before, after, options.command, result.elapsedMs);
  ctx.log(`  ${options.label}: ${Math.round(result.perSecond).toLocaleString('en-US')}/s, ` +
    `server ${server.usecPerCall.toFixed(1)} us/call, server CPU ${server.cpuPercent.toFixed(0)}%`);
  return { perSecond: result.perSecond, latencyUs: result.latencyUs, serverUsPerCall: server.usecPerCall, serverCpuPercent: server.cpuPercent };
}

/** A note saying how busy the server was on each side, to tell a server limit from a client one. */
export function cpuNote(ours: Measurement, theirs: Measurement): string {
  return `redis-server CPU ${ours.serverCpuPercent.toFixed(0)}% vs ${theirs.serverCpuPercent.toFixed(0)}% of one core; ` +
    `server time ${ours.serverUsPerCall.toFixed(1)} vs ${theirs.serverUsPerCall.toFixed(1)} us per call`;
}
