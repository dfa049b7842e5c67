// History at 1,000,000 operations (100,000 when quick), on one fresh redis-server: a token of
// 10,000 holders (1,000 quick) whose log holds half the operations as single transfers and half
// as legs of 100-leg batches, checkpoints (ledger snapshots, through runLedgerSnapshot into the
// Redis metadata store and a Helia store on disk) every 10,000 log entries as the worker takes
// them (LEDGER_CHECKPOINT_EVERY_ENTRIES' default), then:
//   - as-of reads (createAsOf, as the API answers `?at=`): one balance, and the top 100 holders,
//     each at a random point of the history, one at a time; p50 and p99 latency, beside
//     ledger_balance (the live read);
//   - Redis memory (used_memory, settled) with the whole log, then after archiving with
//     LEDGER_LOG_RETENTION_ENTRIES = 10,000 and 10,000-entry segments (archiveDueLogs, the job's
//     run, until nothing is due): what retention saves, and the log's own MEMORY USAGE;
//   - the same as-of reads again, now through the IPFS archives for the trimmed part.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis, type RedisConnection } from '../../src/connections.ts';
import { archiveOf, createAsOf } from '../../src/http/ledger-history.ts';
import { createLedger } from '../../src/ledger/client.ts';
import { declaredKeys } from '../../src/ledger/keys.ts';
import { openIpfsStore } from '../../src/snapshots/ipfs-store.ts';
import { runLedgerSnapshot } from '../../src/snapshots/ledger-snapshots.ts';
import { archiveDueLogs } from '../../src/snapshots/log-archives.ts';
import { createRedisSnapshotStore } from '../../src/snapshots/store/redis.ts';
import { seededFractions } from '../../testkit/random.ts';
import { benchKeys, benchSymbol, holderAccount, treasury } from '../lib/holders.ts';
import { percentile, sortSamples } from '../lib/percentiles.ts';
import { fcall, fcallRo, settledUsedMemory, withRedis, type BenchClient } from '../lib/redis-fixture.ts';
import { resultRow } from '../lib/results.ts';
import { runBounded, timed } from '../lib/timing.ts';
import type { BenchContext, ResultRow, Scenario } from '../lib/types.ts';

const legsPerBatch = 100;
const checkpointEvery = 10_000;
const retention = 10_000;
const segmentEntries = 10_000;
const replayEntriesMax = 20_000;
const topLimit = 100;
const callsPerRound = 2_000;

/** Half the operations as single transfers, half as legs of 100-leg batches, interleaved, among the holders. */
async function populate(clients: BenchClient[], operations: number, holders: number): Promise<void> {
  const accounts = Array.from({ length: holders }, (_, i) => holderAccount(i));
  const share = 10n ** 12n;
  await fcall(clients[0]!, 'ledger_init', [benchKeys.token], ['Bench token', '8', String(share * BigInt(holders)), treasury]);
  for (let i = 0; i < holders; i += 1_000) {
    const args = ['-', String(Math.min(1_000, holders - i))];
    for (let j = i; j < Math.min(i + 1_000, holders); j++) args.push(treasury, accounts[j]!, String(share));
    await fcall(clients[0]!, 'ledger_transfer_batch', [benchKeys.token], args);
  }
  const random = seededFractions(7);
  const pick = () => accounts[Math.floor(random() * holders)]!;
  const pair = (): [string, string] => { const a = pick(); let b = pick(); while (b === a) b = pick(); return [a, b]; };
  // Calls in the order sent; amounts of 1 never exhaust a balance of 10^12.
  const calls: string[][] = [];
  for (let ops = 0; ops < operations;) {
    if (random() < 1 / (legsPerBatch + 1)) { // as many legs in batches as single transfers, on average
      const args = ['-', String(legsPerBatch)];
      for (let l = 0; l < legsPerBatch; l++) args.push(...pair(), '1');
      calls.push(['ledger_transfer_batch', ...args]);
      ops += legsPerBatch;
    } else {
      calls.push(['ledger_transfer', ...pair(), '1']);
      ops += 1;
    }
  }
  const keys = declaredKeys(benchSymbol);
  for (let i = 0; i < calls.length; i += callsPerRound) {
    await runBounded(calls.slice(i, i + callsPerRound), clients.length * 8, ([fn, ...args], n) => fcall(clients[n % clients.length]!, fn!, keys, args));
  }
}

async function run(ctx: BenchContext): Promise<ResultRow[]> {
  const operations = ctx.quick ? 100_000 : 1_000_000;
  const holders = ctx.quick ? 1_000 : 10_000;
  const queries = ctx.quick ? 30 : 100;
  const scenario = `history at ${operations.toLocaleString('en-US')} operations`;
  return withRedis(async (redis) => {
    const populators = await redis.connect(4);
    const fill = await timed(() => populate(populators, operations, holders));
    for (const client of populators) client.destroy();
    const conn: RedisConnection = await connectRedis({ url: redis.server.url, commandTimeoutMs: 60_000 });
    const dir = mkdtempSync(join(tmpdir(), 'tally-bench-history-'));
    const ipfs = await openIpfsStore({ dir });
    try {
      const ledger = createLedger(conn);
      const entries = await ledger.logLength(benchSymbol);
      ctx.log(`  ${operations} operations in ${entries} log entries, ${(fill.ms / 1000).toFixed(1)} s`);
      const store = createRedisSnapshotStore({ redis: conn, keyPrefix: 'bench:snap:' });
      const archive = archiveOf({ store, ipfs });
      const history = {
        resolveAt: (s: string, at?: string) => ledger.resolveAt(s, at, archive),
        snapshotAt: (...a: Parameters<typeof ledger.snapshotAt>) => ledger.snapshotAt(a[0], a[1], a[2], a[3], archive),
      };
      // The log's ids, to pick points and checkpoints (one XRANGE pass, ids only kept).
      const ids: string[] = [];
      for (let cursor = '-'; ;) {
        const page = await conn.xRange(benchKeys.log, cursor, '+', { COUNT: 5_000 });
        for (const entry of page ?? []) ids.push(entry.id);
        if (!page || page.length < 5_000) break;
        cursor = `(${page.at(-1)!.id}`;
      }
      const checkpoints = await timed(async () => {
        for (let i = checkpointEvery - 1; i < ids.length; i += checkpointEvery) {
          const record = await store.create({ tokenId: benchSymbol, network: 'ledger', requestedTimestamp: ids[i]!, requestedBy: 'bench' });
          await runLedgerSnapshot(record.snapshotId, { store, ipfs, history });
        }
      });
      ctx.log(`  ${Math.floor(ids.length / checkpointEvery)} checkpoints in ${(checkpoints.ms / 1000).toFixed(1)} s`);
      const asOf = createAsOf({ ledger, checkpoints: { store, ipfs }, entriesMax: replayEntriesMax });
      const random = seededFractions(11);
      const points = Array.from({ length: queries }, () => ({ at: ids[Math.floor(random() * ids.length)]!, account: holderAccount(Math.floor(random() * holders)) }));
      const latencies = async () => {
        const balance: number[] = [];
        const top: number[] = [];
        for (const p of points) {
          balance.push((await timed(() => asOf.balance(benchSymbol, p.account, p.at))).ms);
          top.push((await timed(() => asOf.holders(benchSymbol, p.at, { limit: topLimit }))).ms);
        }
        return { balance: sortSamples(balance), top: sortSamples(top) };
      };
      const answers = async () => Promise.all(points.slice(0, 10).map((p) => asOf.balance(benchSymbol, p.account, p.at)));
      const [live] = await redis.connect(1);
      const liveMs: number[] = [];
      for (const p of points) liveMs.push((await timed(() => fcallRo(live!, 'ledger_balance', [benchKeys.token], [p.account]))).ms);
      const liveSorted = sortSamples(liveMs);

      const before = await latencies();
      const answersBefore = JSON.stringify(await answers());
      const logBefore = Number(await redis.admin.sendCommand(['MEMORY', 'USAGE', benchKeys.log, 'SAMPLES', '0']));
      const memoryBefore = await settledUsedMemory(redis.admin);
      const archiving = await timed(async () => {
        const deps = { store, ipfs, ledger, retentionEntries: retention, segmentEntries, segmentsPerRunMax: 1_000 };
        for (;;) if ((await archiveDueLogs(deps, null)).archived.length === 0) break;
      });
      const segments = ((await store.lastLogSegment(benchSymbol))?.index ?? -1) + 1;
      const logAfter = Number(await redis.admin.sendCommand(['MEMORY', 'USAGE', benchKeys.log, 'SAMPLES', '0']));
      const memoryAfter = await settledUsedMemory(redis.admin);
      ctx.log(`  archived ${segments} segments in ${(archiving.ms / 1000).toFixed(1)} s; used_memory ${(memoryBefore / 1e6).toFixed(1)} -> ${(memoryAfter / 1e6).toFixed(1)} MB`);
      const after = await latencies();
      if (JSON.stringify(await answers()) !== answersBefore) throw new Error('as-of answers changed once the log was trimmed');

      const mb = (bytes: number) => bytes / 1e6;
      const note = `${entries.toLocaleString('en-US')} log entries, ${holders.toLocaleString('en-US')} holders, a checkpoint every ${checkpointEvery.toLocaleString('en-US')} entries, ${queries} reads at random points`;
      const rows: ResultRow[] = [];
      for (const [what, key] of [['as-of balance', 'balance'], [`as-of top ${topLimit}`, 'top']] as const) {
        for (const p of [50, 99]) {
          rows.push(resultRow({ scenario, figure: `${what} p${p} latency, whole log in Redis`, unit: 'ms', value: percentile(before[key], p),
            baseline: 'ledger_balance (live)', baselineValue: Math.max(0.001, percentile(liveSorted, p)), ...(p === 50 ? { note } : {}) }));
          rows.push(resultRow({ scenario, figure: `${what} p${p} latency, retention ${retention.toLocaleString('en-US')}`, unit: 'ms', value: percentile(after[key], p),
            baseline: 'the same, whole log in Redis', baselineValue: percentile(before[key], p),
            ...(p === 50 ? { note: `the trimmed part read from ${segments} IPFS segments of ${segmentEntries.toLocaleString('en-US')} entries` } : {}) }));
        }
      }
      rows.push(resultRow({ scenario, figure: `Redis used_memory, retention ${retention.toLocaleString('en-US')}`, unit: 'MB', value: mb(memoryAfter),
        baseline: 'without retention', baselineValue: mb(memoryBefore), note: `saved ${((memoryBefore - memoryAfter) / (entries - retention)).toFixed(0)} bytes per archived entry; archiving took ${(archiving.ms / 1000).toFixed(1)} s` }));
      rows.push(resultRow({ scenario, figure: `log MEMORY USAGE, retention ${retention.toLocaleString('en-US')}`, unit: 'MB', value: mb(logAfter),
        baseline: 'without retention', baselineValue: mb(logBefore), note: `${(logBefore / operations).toFixed(1)} bytes per operation without retention` }));
      return rows;
    } finally {
      await ipfs.stop();
      conn.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

export const ledgerHistory: Scenario = { name: 'ledger-history-retention', run };
