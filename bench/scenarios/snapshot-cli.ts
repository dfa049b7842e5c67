// `tally snapshot` as a user runs it: bin/tally.js in its own process, start-up included, with
// MIRROR_RPS=off against the local mirror node, writing to Redis and a fresh DATA_DIR; beside a
// plain client in its own process (bench/lib/plain-get.ts: keep-alive GET + JSON.parse of the
// same pages, nothing validated or written). Three interleaved rounds of each over 100,000
// holders (20,000 when quick). Figures: holders/s from spawn to exit, the time from spawn to the
// first request the mirror node sees, and the peak RSS of each process.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { megabytes } from '../lib/snapshots.ts';
import { resultRow } from '../lib/results.ts';
import type { BenchContext, ResultRow, Scenario } from '../lib/types.ts';
import { generateHolders, startMirrorNode } from '../../testkit/mirror-node.ts';
import { runToExit } from '../../testkit/processes.ts';
import { startRedis } from '../../testkit/redis-server.ts';

const tokenId = '0.0.424243';
const rounds = 3;
const runTimeoutMs = 600_000;
const peakRssPreload = new URL('../lib/peak-rss.ts', import.meta.url).href;
const plainGet = new URL('../lib/plain-get.ts', import.meta.url).pathname;

interface Run { elapsedMs: number; firstRequestMs: number; peakRssBytes: number; holders: number }

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function run(ctx: BenchContext): Promise<ResultRow[]> {
  const holderCount = ctx.quick ? 20_000 : 100_000;
  const holders = generateHolders({ count: holderCount, seed: 11 });
  const totalSupply = holders.reduce((sum, h) => sum + h.balance, 0n);
  const mirror = await startMirrorNode({ tokens: [{ tokenId, name: 'Bench token', symbol: 'BENCH', decimals: 8, totalSupply, holders }] });
  const redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-cli-'));
  const timestamp = mirror.latestSnapshotTimestamp();
  const expectedHolders = holders.filter((h) => h.balance > 0n).length;

  /** One process from spawn to exit; the mirror node's request log gives its first request. */
  async function measure(name: string, args: string[], env: NodeJS.ProcessEnv, holdersOf: (stdout: string) => number): Promise<Run> {
    const rssFile = join(dir, `${name}.rss`);
    mirror.resetStats();
    const startedMs = performance.now();
    const output = await runToExit({ args: ['--import', peakRssPreload, ...args], env: { ...env, BENCH_PEAK_RSS_FILE: rssFile } }, runTimeoutMs);
    const elapsedMs = performance.now() - startedMs;
    const firstAtMs = mirror.stats.requestLog[0]?.atMs;
    if (firstAtMs === undefined) throw new Error(`${name} made no request`);
    const count = holdersOf(output.trim().split('\n').filter((line) => line.startsWith('{')).at(-1) ?? '');
    if (count !== expectedHolders) throw new Error(`${name} read ${count} of ${expectedHolders} holders:\n${output.slice(-1_000)}`);
    return { elapsedMs, firstRequestMs: firstAtMs - startedMs, peakRssBytes: Number(readFileSync(rssFile, 'utf8')), holders: count };
  }

  try {
    const tally: Run[] = [];
    const plain: Run[] = [];
    for (let round = 0; round < rounds; round++) {
      const dataDir = join(dir, `data-${round}`);
      const env = { ...process.env, REDIS_URL: redis.url, DATA_DIR: dataDir, MIRROR_NODE_URL: mirror.url, HEDERA_NETWORK: 'testnet', MIRROR_RPS: 'off' };
      tally.push(await measure('tally', ['bin/tally.js', 'snapshot', tokenId, '--timestamp', timestamp], env,
        (line) => (JSON.parse(line) as { holders: number }).holders));
      rmSync(dataDir, { recursive: true, force: true });
      plain.push(await measure('plain', [plainGet, mirror.url, tokenId, timestamp], process.env,
        (line) => (JSON.parse(line) as { holders: number }).holders));
      ctx.log(`  round ${round + 1}: tally snapshot ${(tally.at(-1)!.elapsedMs / 1000).toFixed(2)} s ` +
        `(first request at ${tally.at(-1)!.firstRequestMs.toFixed(0)} ms, ${megabytes(tally.at(-1)!.peakRssBytes).toFixed(0)} MB), ` +
        `plain GET ${(plain.at(-1)!.elapsedMs / 1000).toFixed(2)} s`);
    }
    const scenario = `tally snapshot end to end, MIRROR_RPS=off, ${expectedHolders.toLocaleString('en-US')} holders`;
    const rate = (runs: Run[]) => expectedHolders / (median(runs.map((r) => r.elapsedMs)) / 1000);
    const spread = (runs: Run[]) => runs.map((r) => `${(r.elapsedMs / 1000).toFixed(2)} s`).join(', ');
    return [
      resultRow({ scenario, figure: 'holders/s, spawn to exit', unit: '/s', value: rate(tally),
        baseline: 'plain keep-alive GET + JSON.parse process', baselineValue: rate(plain),
        note: `median of ${rounds} interleaved runs each: tally ${spread(tally)}; plain ${spread(plain)}. Tally also validates ` +
          'every row, writes the NDJSON, imports it into Helia and records it in Redis' }),
      resultRow({ scenario, figure: 'spawn to first mirror request', unit: 'ms', value: median(tally.map((r) => r.firstRequestMs)),
        baseline: 'the plain process (Node start-up)', baselineValue: median(plain.map((r) => r.firstRequestMs)),
        note: 'the CLI loads its modules and config, connects to Redis and creates the record before it asks for the token; it opens the Helia store once the first page has come' }),
      resultRow({ scenario, figure: 'peak RSS', unit: 'MB', value: megabytes(median(tally.map((r) => r.peakRssBytes))),
        baseline: 'the plain process', baselineValue: megabytes(median(plain.map((r) => r.peakRssBytes))),
        note: 'getrusage ru_maxrss of each process at exit (bench/lib/peak-rss.ts)' }),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await redis.stop();
    await mirror.close();
  }
}

export const snapshotCli: Scenario = { name: 'snapshot-cli', run };
