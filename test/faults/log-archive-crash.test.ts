// A worker SIGKILLed while it archives a token's log (LEDGER_LOG_RETENTION_ENTRIES on), at each
// point between storing a segment and trimming the stream: after the segment is stored on IPFS
// and read back, after it is recorded in the metadata store, after the token hash marks it
// archived (TALLY_FAULT_LOG_ARCHIVE_PAUSE stops the worker there; the test kills it). After each
// kill the stream still holds every entry the store's chain does not (never trimmed half way, nor
// before the record); the next worker redoes an unrecorded segment to the same CID and finishes a
// recorded one; at the end the chain verifies (`tally verify-log`) and the balances are the model's.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis, type RedisConnection } from '../../src/connections.ts';
import { compareEventIds } from '../../src/identifiers.ts';
import { createLedger, type Ledger } from '../../src/ledger/client.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import { createRedisSnapshotStore } from '../../src/snapshots/store/redis.ts';
import { spawnTally, type TallyProcess } from '../../testkit/processes.ts';
import { startRedis, type RedisServer } from '../../testkit/redis-server.ts';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';
import { until } from '../../testkit/wait.ts';
import { tally } from '../cli/tally.ts';
import { generateWorkload, type Workload } from '../history/workload.ts';
import { testSecret } from '../http/support.ts';
import { report } from './support.ts';

const retention = 100;
const segmentEntries = 200;

describe('faults: a worker killed between archiving a log segment and trimming it', function () {
  this.timeout(240_000);
  let server: RedisServer;
  let redis: RedisConnection;
  let ledger: Ledger;
  let dataDir: string;
  let workload: Workload;
  let total = 0;
  const symbol = uniqueSymbol('K');
  const namespace = `lk${uniqueSymbol().toLowerCase()}`;
  const workers: TallyProcess[] = [];
  const store = () => createRedisSnapshotStore({ redis, keyPrefix: `${namespace}:snap:` });
  const env = (more: Record<string, string> = {}) => ({
    REDIS_URL: server.url, JWT_SECRET: testSecret, DATA_DIR: dataDir, ROLES: 'worker', PORT: '0', TALLY_NAMESPACE: namespace,
    JOB_POLL_MS: '100', JOB_LOCK_LIFETIME_MS: '2000', SCHEDULE_MIN_INTERVAL_MS: '1000', LEDGER_CHECKPOINT_CHECK_MS: '0',
    LEDGER_LOG_RETENTION_ENTRIES: String(retention), LEDGER_LOG_SEGMENT_ENTRIES: String(segmentEntries), LEDGER_LOG_ARCHIVE_CHECK_MS: '1000', ...more,
  });
  /** The stream and the store's chain now: together they must always hold every entry. */
  async function state() {
    const last = await store().lastLogSegment(symbol);
    const marks = await ledger.logMarks(symbol);
    const length = await ledger.logLength(symbol);
    const [first] = (await redis.xRange(`token:{${symbol}}:log`, '-', '+', { COUNT: 1 })) ?? [];
    return { last, marks, length, first: first!.id, archived: last === null ? 0 : (last.index + 1) * segmentEntries };
  }
  function expectNothingLost(s: Awaited<ReturnType<typeof state>>): void {
    // The stream holds everything after its trim point, and the store's chain reaches that point.
    if (s.marks.trimmedTo !== null) {
      expect(compareEventIds(s.marks.trimmedTo, s.last!.lastId), 'trimmed no further than the chain recorded').to.be.at.most(0);
      expect(compareEventIds(s.first, s.marks.trimmedTo)).to.equal(1);
    }
    if (s.marks.archivedTo !== null) expect(compareEventIds(s.marks.archivedTo, s.last!.lastId), 'marked no further than the chain recorded').to.be.at.most(0);
    // Every entry is in the stream or in a recorded segment, none in neither: the trimmed ones are exactly the recorded segments' first ones.
    const trimmed = total - s.length;
    expect(trimmed % segmentEntries).to.equal(0);
    expect(trimmed).to.be.at.most(s.archived);
  }

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tally-log-crash-'));
    server = await startRedis();
    redis = await connectRedis({ url: server.url, commandTimeoutMs: 5_000 });
    await migrate(redis);
    ledger = createLedger(redis);
    workload = await generateWorkload(ledger, symbol, { operations: 8_000, accounts: 60, seed: 91 });
    total = await ledger.logLength(symbol);
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.kill9()));
    redis?.destroy();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses nothing when killed after storing, after recording and after marking a segment; the next worker finishes, the chain verifies', async () => {
    expect(total).to.be.above(retention + 4 * segmentEntries);
    const kills: Record<string, string> = {};
    let pausedCid: string | null = null;
    for (const point of ['after-store', 'after-record', 'after-mark'] as const) {
      const before = await state();
      const worker = spawnTally(env({ TALLY_FAULT_LOG_ARCHIVE_PAUSE: point }));
      workers.push(worker);
      const [line] = await worker.waitFor(new RegExp(`[^\\n]*fault: log archiving paused ${point}[^\\n]*`), 60_000);
      await worker.kill9();
      const paused = JSON.parse(line.slice(line.indexOf('{'))) as { index: number; cid: string };
      const s = await state();
      expectNothingLost(s);
      if (point === 'after-store') {
        // Stored on IPFS only: no record, no mark, nothing trimmed.
        expect(s.last?.index ?? -1).to.equal((before.last?.index ?? -1));
        expect(s.marks).to.deep.equal(before.marks);
        expect(s.length).to.equal(before.length);
        pausedCid = paused.cid;
      } else if (point === 'after-record') {
        // The segment killed before its record is made again, to the same CID; recorded now, not marked, nothing trimmed.
        expect(s.last!.index).to.equal(paused.index);
        expect(s.last!.cid).to.equal(pausedCid);
        expect(s.marks).to.deep.equal(before.marks);
        expect(s.length).to.equal(before.length);
      } else {
        // The recorded segment was marked and trimmed first; the next one is marked, its entries still in the stream.
        expect(s.last!.index).to.equal(before.last!.index + 1);
        expect(s.marks.trimmedTo).to.equal(before.last!.lastId);
        expect(s.marks.archivedTo).to.equal(s.last!.lastId);
        expect(s.length).to.equal(before.length - segmentEntries);
      }
      kills[point] = `segment ${paused.index}`;
    }
    const worker = spawnTally(env());
    workers.push(worker);
    await until(async () => { const s = await state(); return s.length < retention + segmentEntries && s.marks.trimmedTo === s.last?.lastId; },
      { what: 'the log to be archived and trimmed', timeoutMs: 60_000, stepMs: 200 });
    await worker.stop();
    const s = await state();
    expectNothingLost(s);
    expect(s.archived + s.length).to.equal(total);
    const verify = await tally(['verify-log', symbol], { REDIS_URL: server.url, DATA_DIR: dataDir, TALLY_NAMESPACE: namespace });
    expect(verify.code, verify.stderr).to.equal(0);
    expect(JSON.parse(verify.stdout)).to.include({ ok: true, logEntries: total, segments: s.last!.index + 1 });
    const end = workload.rounds.at(-1)!;
    let matching = 0;
    for (const account of workload.accounts) if ((await ledger.balance(symbol, account)) === String(end.balances.get(account) ?? 0n)) matching += 1;
    expect(matching).to.equal(workload.accounts.length);
    report('worker killed between archive and trim', { attempted: total, acknowledged: total, found: s.archived + s.length, lost: total - s.archived - s.length, kills: Object.keys(kills).length });
  });
});
