// A bounded log end to end: a token's history answered first from its whole log (retention off),
// then the same deployment restarted with LEDGER_LOG_RETENTION_ENTRIES on archives it to IPFS in
// segments and trims the stream; afterwards every answer is unchanged (as-of balances and holders
// equal to the independent model, ledger snapshots with the same CIDs, the audit clean), the
// segments form one hash chain from init, ledger_events readers before the trim point are told
// where the log starts, and `tally verify-log` passes (and fails, naming why, on a tampered ledger).
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { compareEventIds } from '../../src/identifiers.ts';
import { declaredKeys } from '../../src/ledger/keys.ts';
import { readSegment } from '../../src/ledger/log-segments.ts';
import { createLogger } from '../../src/logger.ts';
import { start, type Started } from '../../src/main.ts';
import { archiveOf } from '../../src/http/ledger-history.ts';
import { openIpfsStore } from '../../src/snapshots/ipfs-store.ts';
import { createRedisSnapshotStore } from '../../src/snapshots/store/redis.ts';
import { connect } from '../../testkit/clients.ts';
import { startRedis, type RedisServer } from '../../testkit/redis-server.ts';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import { sleep, until } from '../../testkit/wait.ts';
import { tally } from '../cli/tally.ts';
import { mint, testSecret } from '../http/support.ts';
import { expectedTop, generateWorkload, type ModelPoint, type Workload } from './workload.ts';

const retention = 400;
const segmentEntries = 500;

describe('history: a bounded log with verifiable archives', function () {
  this.timeout(300_000);
  let dataDir: string;
  let app: Started;
  // A server of its own: the archiving job looks at every token of its Redis, and should not take the other suites' ones.
  let redisServer: RedisServer;
  let workload: Workload;
  let points: ModelPoint[];
  let probes: ModelPoint[];
  const admin = mint('root', { roles: ['admin'] });
  const symbol = uniqueSymbol('A');
  const namespace = `arch${uniqueSymbol().toLowerCase()}`;
  /** What the untrimmed log answered, to compare with the trimmed one. */
  const earlier = { cids: new Map<string, string>(), balances: new Map<string, string>(), holders: new Map<string, unknown>() };
  let totalEntries = 0;

  const env = (more: Record<string, string> = {}) => ({
    REDIS_URL: redisServer.url, JWT_SECRET: testSecret, PORT: '0', HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0', DATA_DIR: dataDir,
    JOB_POLL_MS: '100', JOB_LOCK_LIFETIME_MS: '10000', SNAPSHOT_BACKOFF_MS: '50', TALLY_NAMESPACE: namespace, LOG_LEVEL: 'silent',
    HISTORY_REPLAY_ENTRIES_MAX: '1000000', LEDGER_CHECKPOINT_CHECK_MS: '0', SCHEDULE_MIN_INTERVAL_MS: '1000', ...more,
  });
  const api = async (path: string, init: RequestInit & { token?: string } = {}) => {
    const response = await fetch(`${app.url}${path}`, { ...init, headers: { authorization: `Bearer ${init.token ?? admin}`, 'content-type': 'application/json', ...init.headers } });
    const text = await response.text();
    return { status: response.status, text, body: text && response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined };
  };
  async function snapshotCid(at: string): Promise<string> {
    const reply = await api('/v1/snapshots', { method: 'POST', body: JSON.stringify({ ledgerToken: symbol, at }) });
    expect(reply.status, reply.text).to.equal(202);
    let record: Record<string, any> = {};
    await until(async () => { record = (await api(`/v1/snapshots/${reply.body.snapshotId}`)).body; return record.status === 'completed' || record.status === 'failed'; }, { what: 'a ledger snapshot', timeoutMs: 60_000, stepMs: 100 });
    expect(record.status, JSON.stringify(record.error)).to.equal('completed');
    return record.cid;
  }
  const accounts = () => workload.accounts.filter((_, i) => i % 23 === 0);
  async function answers(into: typeof earlier, withSnapshots: boolean): Promise<void> {
    // As-of reads between the ledger snapshots too: they replay from the one before, through the archives once trimmed.
    for (const point of [...probes, ...points]) {
      for (const account of accounts()) {
        const reply = await api(`/v1/tokens/${symbol}/balances/${account}?at=${point.eventId}`);
        expect(reply.status, reply.text).to.equal(200);
        expect(reply.body.balance, `${account} at ${point.eventId}`).to.equal(String(point.balances.get(account) ?? 0n));
        into.balances.set(`${account}@${point.eventId}`, reply.body.balance);
      }
      const holders = await api(`/v1/tokens/${symbol}/holders?at=${point.eventId}&limit=50`);
      expect(holders.status, holders.text).to.equal(200);
      expect(holders.body.holders).to.deep.equal(expectedTop(point, 50));
      into.holders.set(point.eventId, holders.body);
    }
    if (withSnapshots) for (const point of points) into.cids.set(point.eventId, await snapshotCid(point.eventId));
  }
  const logLength = () => app.redis.xLen(`token:{${symbol}}:log`);
  const store = () => createRedisSnapshotStore({ redis: app.redis, keyPrefix: `${namespace}:snap:` });
  const cliEnv = () => ({ REDIS_URL: redisServer.url, DATA_DIR: dataDir, TALLY_NAMESPACE: namespace });

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tally-archive-'));
    redisServer = await startRedis();
    const client = await connect(redisServer.url);
    await migrate(client);
    client.destroy();
    app = await start(loadConfig(env()), { logger: createLogger('silent') });
    workload = await generateWorkload(app.ledger, symbol, { operations: 30_000, accounts: 300, seed: 77 });
    const r = workload.rounds;
    points = [r[0]!, r[Math.floor(r.length * 0.3)]!, r[Math.floor(r.length * 0.6)]!, r.at(-1)!];
    probes = [r[Math.floor(r.length * 0.15)]!, r[Math.floor(r.length * 0.45)]!, r[Math.floor(r.length * 0.8)]!];
    totalEntries = await logLength();
  });
  after(async () => {
    await app?.stop();
    await redisServer?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers from the whole log first (retention off: nothing is archived or trimmed)', async () => {
    expect(totalEntries).to.be.above(retention + 4 * segmentEntries);
    await answers(earlier, true);
    await sleep(1_500);
    expect(await logLength()).to.equal(totalEntries);
    expect(await store().lastLogSegment(symbol)).to.equal(null);
  });

  it('with retention on, archives the log in segments, and trims it to between the retention and one segment more', async () => {
    await app.stop();
    app = await start(loadConfig(env({ LEDGER_LOG_RETENTION_ENTRIES: String(retention), LEDGER_LOG_SEGMENT_ENTRIES: String(segmentEntries), LEDGER_LOG_ARCHIVE_CHECK_MS: '1000' })), { logger: createLogger('silent') });
    await until(async () => (await logLength()) < retention + segmentEntries, { what: 'the log to be archived and trimmed', timeoutMs: 90_000, stepMs: 200 });
    const length = await logLength();
    expect(length).to.be.at.least(retention);
    const last = (await store().lastLogSegment(symbol))!;
    expect(last.index + 1).to.equal(Math.floor((totalEntries - retention) / segmentEntries));
    expect(totalEntries - (last.index + 1) * segmentEntries).to.equal(length);
    const marks = await app.ledger.logMarks(symbol);
    expect(marks).to.deep.equal({ archivedTo: last.lastId, trimmedTo: last.lastId });
    const [first] = (await app.redis.xRange(`token:{${symbol}}:log`, '-', '+', { COUNT: 1 })) ?? [];
    expect(compareEventIds(first!.id, last.lastId)).to.equal(1);
  });

  it('chains the segments from init: each names the previous CID and the range after it, with deterministic bytes', async () => {
    const ipfs = await openIpfsStore({ dir: join(dataDir, 'ipfs') }).catch(() => null);
    // The app holds DATA_DIR/ipfs open; a second store on the same directory reads the same blocks.
    expect(ipfs).to.not.equal(null);
    try {
      const s = store();
      const last = (await s.lastLogSegment(symbol))!;
      let previous: Awaited<ReturnType<typeof s.getLogSegment>> = null;
      let entries = 0;
      for (let index = 0; index <= last.index; index++) {
        const record = (await s.getLogSegment(symbol, index))!;
        expect(record).to.include({ symbol, index, previous: previous?.cid ?? null, after: previous?.lastId ?? null, entries: segmentEntries });
        const { header, entries: lines } = await readSegment(ipfs!.cat(record.cid));
        expect(header).to.deep.equal({ type: 'TALLY_LOG_SEGMENT', version: 1, symbol, index, previous: record.previous, after: record.after, firstId: record.firstId, lastId: record.lastId, entries: segmentEntries });
        let n = 0;
        for await (const entry of lines) { if (index === 0 && n === 0) expect(entry.fields.type).to.equal('init'); n += 1; }
        expect(n).to.equal(segmentEntries);
        // The same bytes again give the same CID.
        const again = await ipfs!.addBytes(ipfs!.cat(record.cid));
        expect(again).to.deep.equal({ cid: record.cid, bytes: record.bytes });
        entries += n;
        previous = record;
      }
      expect(entries + await logLength()).to.equal(totalEntries);
    } finally {
      await ipfs!.stop();
    }
  });

  it('answers the same as before the trim: as-of balances and holders, and ledger snapshots with the same CIDs (replayed through the archives)', async () => {
    const after = { cids: new Map<string, string>(), balances: new Map<string, string>(), holders: new Map<string, unknown>() };
    await answers(after, false);
    expect(after.balances).to.deep.equal(earlier.balances);
    expect(after.holders).to.deep.equal(earlier.holders);
    // New snapshots at the same points (each finds the earlier one as its checkpoint) ...
    for (const point of points) expect(await snapshotCid(point.eventId), point.eventId).to.equal(earlier.cids.get(point.eventId));
    // ... and each replayed from init without a checkpoint, through every archived entry up to it.
    const ipfs = await openIpfsStore({ dir: join(dataDir, 'ipfs') });
    try {
      const archive = archiveOf({ store: store(), ipfs });
      for (const point of points) {
        const bytes = await app.ledger.snapshotAt(symbol, point.eventId, null, undefined, archive);
        expect((await ipfs.addBytes(bytes.chunks)).cid, point.eventId).to.equal(earlier.cids.get(point.eventId));
      }
      // Without the archives, the same replay is refused with LOG_TRIMMED rather than answered wrong.
      const refused = await app.ledger.snapshotAt(symbol, points[1]!.eventId, null).then(() => null, (e: { code: string }) => e.code);
      expect(refused).to.equal('LOG_TRIMMED');
    } finally {
      await ipfs.stop();
    }
    // The audit replays from init too.
    const audit = await api(`/v1/tokens/${symbol}/audit`);
    expect(audit.body).to.include({ ok: true, logEntries: totalEntries });
  });

  it('tells ledger_events readers before the trim point where the log now starts (FCALL and REST), and reads on from there', async () => {
    const { trimmedTo } = await app.ledger.logMarks(symbol);
    for (const after of ['-', points[0]!.eventId]) {
      const error = await app.redis.fCallRo('ledger_events', { keys: declaredKeys(symbol), arguments: [after, '10'] }).then(() => null, (e: Error) => e);
      expect(error?.message).to.match(new RegExp(`^LOG_TRIMMED ${trimmedTo} `));
    }
    const rest = await api(`/v1/tokens/${symbol}/events?limit=5`);
    expect(rest.status).to.equal(410);
    expect(rest.body.error.code).to.equal('LOG_TRIMMED');
    const on = await api(`/v1/tokens/${symbol}/events?limit=5&after=${trimmedTo}`);
    expect(on.status, on.text).to.equal(200);
    expect(on.body.events).to.have.length(5);
    // Trimming past the archived mark is refused.
    const last = (await app.redis.xRevRange(`token:{${symbol}}:log`, '+', '-', { COUNT: 1 }))![0]!.id;
    const refused = await app.ledger.logTrim(symbol, last).then(() => null, (e: { code: string }) => e.code);
    expect(refused).to.equal('LOG_NOT_ARCHIVED');
  });

  it('tally verify-log walks the chain and the live log to the live balances: exit 0, and non-zero naming the fault on a tampered ledger', async () => {
    const ok = await tally(['verify-log', symbol], cliEnv());
    expect(ok.code, ok.stderr).to.equal(0);
    const report = JSON.parse(ok.stdout);
    expect(report).to.include({ symbol, ok: true, logEntries: totalEntries, violationCount: 0 });
    expect(report.segments * segmentEntries).to.equal(report.archivedEntries);
    const audit = await tally(['audit', symbol], cliEnv());
    expect(audit.code, audit.stderr).to.equal(0);
    // A balance changed behind the ledger's back: the replay no longer reproduces it.
    const account = workload.accounts[1]!;
    const balances = `token:{${symbol}}:balances`;
    const real = await app.redis.hGet(balances, account);
    await app.redis.hSet(balances, account, String(BigInt(real!) + 1n));
    try {
      const bad = await tally(['verify-log', symbol], cliEnv());
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.include(`${account} holds ${BigInt(real!) + 1n} but the log gives ${real}`);
    } finally {
      await app.redis.hSet(balances, account, real!);
    }
    // A segment missing from the store: the chain is broken there.
    const key = `${namespace}:snap:logseg:${symbol}`;
    const [member] = await app.redis.zRangeByScore(key, 1, 1);
    await app.redis.zRem(key, member!);
    try {
      const broken = await tally(['verify-log', symbol], cliEnv());
      expect(broken.code).to.equal(1);
      expect(broken.stderr).to.include(`log segment 1 of ${symbol} is missing from the store`);
    } finally {
      await app.redis.zAdd(key, { score: 1, value: member! });
    }
    expect((await tally(['verify-log', symbol], cliEnv())).code).to.equal(0);
  });
});
