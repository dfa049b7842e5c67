// `make bench` (npm run bench): runs every scenario in turn, prints the results table and writes
// the figures, each beside its baseline, as JSON. BENCHMARKS.md explains the method.
//
//   BENCH_QUICK=1   fewer holders (100,000) and short measurements: a check in under 2 minutes
//   BENCH_ONLY=a,b  only the scenarios whose name contains one of these words
//   BENCH_LEDGER_DIR=<dir>  a candidate copy of redis-functions/ledger instead of the library
//
// A run of every scenario on the library, full or quick, writes bench/results.json (its `mode`
// says which; the committed one holds the figures of record of a full run, so commit only full
// runs). Partial (BENCH_ONLY) and candidate (BENCH_LEDGER_DIR) runs write bench/results.tmp.json
// (ignored by git), never replacing it.
import { cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { candidateLedgerDir } from './lib/redis-fixture.ts';
import { renderTable } from './lib/table.ts';
import type { BenchContext, ResultRow, Scenario } from './lib/types.ts';
import { apiTransfer } from './scenarios/api-transfer.ts';
import { ledgerHistory } from './scenarios/ledger-history.ts';
import { ledgerMemory } from './scenarios/ledger-memory.ts';
import { ledgerServerBound } from './scenarios/ledger-server-bound.ts';
import { ledgerTop } from './scenarios/ledger-top.ts';
import { ledgerTransferBatch } from './scenarios/ledger-transfer-batch.ts';
import { ledgerTransferLatency } from './scenarios/ledger-transfer-latency.ts';
import { ledgerTransferPipelined } from './scenarios/ledger-transfer-pipelined.ts';
import { snapshotCli } from './scenarios/snapshot-cli.ts';
import { snapshotRateLimited } from './scenarios/snapshot-rate-limited.ts';
import { snapshotUnlimited } from './scenarios/snapshot-unlimited.ts';
import { snapshotMerkle } from './scenarios/snapshot-merkle.ts';

const scenarios: Scenario[] = [
  ledgerServerBound,
  ledgerTransferPipelined,
  ledgerTransferLatency,
  ledgerTransferBatch,
  ledgerTop,
  ledgerMemory,
  ledgerHistory,
  apiTransfer,
  snapshotUnlimited,
  snapshotCli,
  snapshotRateLimited,
  snapshotMerkle,
];

const quick = process.env.BENCH_QUICK === '1';
const only = (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const selected = only.length === 0 ? scenarios : scenarios.filter((s) => only.some((word) => s.name.includes(word)));

const ctx: BenchContext = {
  quick,
  warmupMs: quick ? 300 : 1_000,
  measureMs: quick ? 3_000 : 12_000,
  rounds: quick ? 2 : 4,
  holders: quick ? 100_000 : 1_000_000,
  log: (message) => process.stderr.write(`${message}\n`),
};

function machine() {
  let redisVersion = 'unknown';
  try {
    redisVersion = /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? redisVersion;
  } catch { /* reported as unknown */ }
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, redis: redisVersion };
}

const mode = `${quick ? 'QUICK' : 'full'}: ${ctx.holders.toLocaleString('en-US')} holders, each figure measured ` +
  `${ctx.measureMs / 1000} s in ${ctx.rounds} interleaved rounds, ${ctx.warmupMs / 1000} s warmup per round`;

async function main(): Promise<void> {
  if (selected.length === 0) throw new Error(`BENCH_ONLY=${only.join(',')} matches none of: ${scenarios.map((s) => s.name).join(', ')}`);
  const startedAt = new Date();
  ctx.log(`bench: ${mode}; ${selected.map((s) => s.name).join(', ')}`);
  if (candidateLedgerDir) ctx.log(`bench: ledger library from ${candidateLedgerDir}`);
  const rows: ResultRow[] = [];
  for (const scenario of selected) {
    const start = performance.now();
    ctx.log(`${scenario.name} ...`);
    rows.push(...await scenario.run(ctx));
    ctx.log(`${scenario.name} done in ${((performance.now() - start) / 1000).toFixed(0)} s`);
  }
  console.log(`\nTally benchmarks, ${mode}\n`);
  console.log(renderTable(rows));
  const complete = selected.length === scenarios.length && !candidateLedgerDir;
  const out = fileURLToPath(new URL(complete ? 'results.json' : 'results.tmp.json', import.meta.url));
  const report = {
    startedAt: startedAt.toISOString(),
    durationS: Math.round((Date.now() - startedAt.getTime()) / 1000),
    mode,
    ledgerLibrary: candidateLedgerDir ?? 'redis-functions/ledger',
    machine: machine(),
    rows,
  };
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwritten: ${out}`);
  const missed = rows.filter((r) => r.met === false);
  if (missed.length > 0) console.log(`targets missed: ${missed.map((r) => `${r.scenario} / ${r.figure}`).join('; ')}`);
}

await main();
