// A load that the server, not the client, limits: Debian's `redis-benchmark` (a C client: 50
// connections, 16 calls pipelined on each) sending one command line with `__rand_int__`
// placeholders (each replaced by a random 12-digit number in 0..r-1 per call). Any error reply
// stops redis-benchmark, so every load here is built never to fail.
import { spawn } from 'node:child_process';

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
export function redisBenchmark(port: number, load: BenchmarkLoad, requests: number): Promise<number> {
  if (!(load.keyspace > 0 && load.keyspace <= 2 ** 31 - 1)) throw new RangeError(`${load.label}: keyspace must be in 1..2^31-1`);
  const args = ['-h', '127.0.0.1', '-p', String(port), '-c', String(benchmarkConnections), '-P', String(benchmarkPipeline),
    '-n', String(requests), '-r', String(load.keyspace), '-q', ...load.command];
  return new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d; });
    child.stderr.on('data', (d: Buffer) => { output += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), runTimeoutMs);
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('exit', (code) => {
      clearTimeout(timer);
      const last = output.split(/[\r\n]/).filter(Boolean).at(-1) ?? '';
      const rate = /([\d.]+) requests per second/.exec(last);
      if (code !== 0 || !rate || /Error/.test(output)) {
        reject(new Error(`redis-benchmark (${load.label}) exited ${code}: ${output.slice(-500)}`));
        return;
      }
      resolve(Number(rate[1]));
    });
  });
}
