// A load that the server, not the client, limits: Debian's `redis-benchmark` (a C client: 50
// connections, 16 calls pipelined on each) sending one command line with `__rand_int__`
// placeholders (each replaced by a random 12-digit number in 0..r-1 per call). Any error reply
// stops redis-benchmark, so every load here is built never to fail.
import { runToExit } from '../../testkit/processes.ts';

export interface BenchmarkLoad {
  label: string;
  /** The command, e.g. ['FCALL', 'ledger_transfer', '1', 'token:{S}', 'a__rand_int__', ...]. */
  command: string[];
  /** The range of __rand_int__: at most 2^31 - 1 (redis-benchmark keeps it in a C int). */
  keyspace: number;
}

export const benchmarkConnections = 50;
export const benchmarkPipeline = 16;
const runTimeoutMs = 300_000;

/** Runs `requests` calls of the load against the server on `port`; resolves with calls/s. */
export async function redisBenchmark(port: number, load: BenchmarkLoad, requests: number): Promise<number> {
  if (!(load.keyspace > 0 && load.keyspace <= 2 ** 31 - 1)) throw new RangeError(`${load.label}: keyspace must be in 1..2^31-1`);
  const args = ['-h', '127.0.0.1', '-p', String(port), '-c', String(benchmarkConnections), '-P', String(benchmarkPipeline),
    '-n', String(requests), '-r', String(load.keyspace), '-q', ...load.command];
  const output = await runToExit({ command: 'redis-benchmark', args, env: process.env }, runTimeoutMs);
  const last = output.split(/[\r\n]/).filter(Boolean).at(-1) ?? '';
  const rate = /([\d.]+) requests per second/.exec(last);
  // An error reply stops redis-benchmark, yet it may still exit 0.
  if (!rate || /Error/.test(output)) throw new Error(`redis-benchmark (${load.label}): ${output.slice(-500)}`);
  return Number(rate[1]);
}
