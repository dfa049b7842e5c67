// Ledger snapshots and as-of reads end to end: start() with the worker (Agenda on Redis, Helia on
// disk, the Redis metadata store), real HTTP on loopback, a token with 100,000 operations
// (transfers, burns, batches) and an independent BigInt model of it (workload.ts).
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { start, type Started } from '../../src/main.ts';
import { openIpfsStore, type IpfsStore } from '../../src/snapshots/ipfs-store.ts';
import { connectSocket } from '../../testkit/clients.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep, until } from '../../testkit/wait.ts';
import { mint, testSecret } from '../http/support.ts';
import { expectedSnapshot, expectedTop, generateWorkload, type ModelPoint, type Workload } from './workload.ts';

const replayEntriesMax = 3_000;

describe('history: ledger snapshots and as-of reads', function () {
  this.timeout(300_000);
  let dataDir: string;
  let app: Started;
  let workload: Workload;
  let points: ModelPoint[];
  /** Points between the checkpoints (about 10% of the log after one): as-of reads replay part of the log. */
  let between: ModelPoint[];
  let ipfs: IpfsStore;
  const admin = mint('root', { roles: ['admin'] });
  const symbol = uniqueSymbol('H');

  const api = async (path: string, init: RequestInit & { token?: string } = {}) => {
    const response = await fetch(`${app.url}${path}`, { ...init, headers: { authorization: `Bearer ${init.token ?? admin}`, 'content-type': 'application/json', ...init.headers } });
    const text = await response.text();
    return { status: response.status, text, body: text && response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined };
  };

  async function completed(snapshotId: string, timeoutMs = 120_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api(`/v1/snapshots/${snapshotId}`);
      if (body.status === 'completed') return body;
      if (body.status === 'failed') throw new Error(`snapshot ${snapshotId} failed: ${JSON.stringify(body.error)}`);
      if (Date.now() > deadline) throw new Error(`snapshot ${snapshotId} stayed ${body.status}`);
      await sleep(100);
    }
  }

  const snapshotAt = async (at?: string) => {
    const reply = await api('/v1/snapshots', { method: 'POST', body: JSON.stringify({ ledgerToken: symbol, ...(at ? { at } : {}) }) });
    expect(reply.status, reply.text).to.equal(202);
    return completed(reply.body.snapshotId);
  };
  const recordCount = async () => (await api(`/v1/snapshots?tokenId=${symbol}&limit=100`)).body.snapshots.length as number;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tally-history-'));
    const env = {
      REDIS_URL: sharedRedisUrl(), JWT_SECRET: testSecret, PORT: '0', HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0', DATA_DIR: dataDir,
      JOB_POLL_MS: '100', JOB_LOCK_LIFETIME_MS: '10000', SNAPSHOT_BACKOFF_MS: '50', TALLY_NAMESPACE: `hist${uniqueSymbol().toLowerCase()}`,
      LOG_LEVEL: 'silent', HISTORY_REPLAY_ENTRIES_MAX: String(replayEntriesMax), LEDGER_CHECKPOINT_CHECK_MS: '0',
    };
    app = await start(loadConfig(env), { logger: createLogger('silent') });
    workload = await generateWorkload(app.ledger, symbol, { operations: 100_000, accounts: 1_200, seed: 15 });
    const r = workload.rounds;
    // Five points spread over the history, the last one the end of the log.
    points = [r[Math.floor(r.length * 0.1)]!, r[Math.floor(r.length * 0.3)]!, r[Math.floor(r.length * 0.55)]!, r[Math.floor(r.length * 0.8)]!, r.at(-1)!];
    between = [r[Math.floor(r.length * 0.2)]!, r[Math.floor(r.length * 0.4)]!, r[Math.floor(r.length * 0.65)]!, r[Math.floor(r.length * 0.9)]!];
    ipfs = await openIpfsStore({ dir: join(dataDir, 'independent-ipfs') });
  });
  after(async () => {
    await ipfs?.stop();
    await app?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('generated 100,000 operations, every one committed, with a log of many entries', async () => {
    expect(workload.rounds.at(-1)!.operations).to.be.at.least(100_000);
    const info = await app.ledger.info(symbol);
    expect(info.circulatingSupply).to.equal(String(points.at(-1)!.circulating));
    for (const account of workload.accounts.slice(0, 50)) expect(await app.ledger.balance(symbol, account)).to.equal(String(points.at(-1)!.balances.get(account) ?? 0n));
  });

  it('snapshots at five event ids, requested in order (each later one has the earlier ones as checkpoints), equal the independent replay byte for byte', async () => {
    for (const point of points) {
      const done = await snapshotAt(point.eventId);
      expect(done).to.include({ tokenId: symbol, network: 'ledger', requestedTimestamp: point.eventId, consensusTimestamp: point.eventId, totalBalance: String(point.circulating) });
      const content = await api(`/v1/snapshots/${done.snapshotId}/content`);
      expect(content.status).to.equal(200);
      expect(content.text === expectedSnapshot(workload, point), `snapshot at ${point.eventId}`).to.equal(true);
      expect(done.holders).to.equal(content.text.split('\n').length - 2);
    }
  });

  it('is deterministic: the same event id gives the same CID again, and a replay from init (no checkpoint) gives that CID too', async () => {
    const point = points[2]!;
    const first = (await api(`/v1/snapshots?tokenId=${symbol}&status=completed&limit=100`)).body.snapshots.find((s: { consensusTimestamp: string }) => s.consensusTimestamp === point.eventId);
    const again = await snapshotAt(point.eventId);
    expect(again.cid).to.equal(first.cid);
    const fromInit = await app.ledger.snapshotAt(symbol, point.eventId, null);
    const stored = await ipfs.addBytes(fromInit.chunks);
    expect(stored.cid).to.equal(first.cid);
    expect(fromInit.stats.total).to.equal(point.circulating);
  });

  it('resolves an at between two events and a time to the last event before it, giving that event id and its bytes', async () => {
    const point = points[1]!;
    const [ms, seq] = point.eventId.split('-');
    const between = await api('/v1/snapshots', { method: 'POST', body: JSON.stringify({ ledgerToken: symbol, at: `${ms}-${BigInt(seq!) + 1000n}` }) });
    // The next event after point.eventId came in a later round, so a seq 1000 further in the same ms
    // either is that ms's last entry or resolves to point.eventId itself.
    expect(between.status).to.equal(202);
    const record = await completed(between.body.snapshotId);
    expect(record.consensusTimestamp).to.equal(between.body.eventId);
    const latest = await snapshotAt();
    expect(latest.consensusTimestamp).to.equal(points.at(-1)!.eventId);
  });

  it('answers as-of balances equal to the model at every point (event id and ISO time), the account itself or an admin', async () => {
    for (const point of [...between, ...points]) {
      for (const account of workload.accounts.filter((_, i) => i % 97 === 0)) {
        const reply = await api(`/v1/tokens/${symbol}/balances/${account}?at=${point.eventId}`);
        expect(reply.status, reply.text).to.equal(200);
        expect(reply.body).to.deep.equal({ account, balance: String(point.balances.get(account) ?? 0n), eventId: point.eventId });
      }
    }
    const account = workload.accounts[5]!;
    const own = await api(`/v1/tokens/${symbol}/balances/${account}?at=${points[0]!.eventId}`, { token: mint(account) });
    expect(own.body.balance).to.equal(String(points[0]!.balances.get(account) ?? 0n));
    const other = await api(`/v1/tokens/${symbol}/balances/${account}?at=${points[0]!.eventId}`, { token: mint('someone-else') });
    expect(other.status).to.equal(403);
    const ms = Number(points.at(-1)!.eventId.split('-')[0]);
    const byTime = await api(`/v1/tokens/${symbol}/balances/${account}?at=${new Date(ms).toISOString()}`);
    expect(byTime.body.eventId).to.equal(points.at(-1)!.eventId);
    expect(byTime.body.balance).to.equal(String(points.at(-1)!.balances.get(account) ?? 0n));
  });

  it('answers as-of holders equal to the model, page by page, for any user', async () => {
    const point = between[3]!;
    const expected = expectedTop(point, 250);
    const seen: { account: string; balance: string }[] = [];
    let cursor: string | null = null;
    do {
      const reply = await api(`/v1/tokens/${symbol}/holders?at=${point.eventId}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: mint('anyone') });
      expect(reply.status, reply.text).to.equal(200);
      expect(reply.body.eventId).to.equal(point.eventId);
      seen.push(...reply.body.holders);
      cursor = reply.body.next;
    } while (cursor && seen.length < 250);
    expect(seen.slice(0, 250)).to.deep.equal(expected);
  });

  it('reports a ledger snapshot over Socket.IO like any snapshot: active, then completed with its CID', async () => {
    const socket = connectSocket(app.url!, '/snapshots', { accessToken: admin });
    const events: { type: string; payload: { snapshotId: string; cid?: string } }[] = [];
    socket.on('snapshots_events', (event: (typeof events)[number]) => events.push(event));
    try {
      await until(() => socket.connected, { what: 'the socket to connect' });
      const reply = await api('/v1/snapshots', { method: 'POST', body: JSON.stringify({ ledgerToken: symbol, at: between[0]!.eventId }) });
      const done = await completed(reply.body.snapshotId);
      await until(() => events.some((e) => e.type === 'snapshots_completed' && e.payload.snapshotId === done.snapshotId), { what: 'snapshots_completed' });
      const mine = events.filter((e) => e.payload.snapshotId === done.snapshotId);
      expect(mine[0]!.type).to.equal('snapshots_active');
      expect(mine.at(-1)).to.deep.include({ type: 'snapshots_completed' });
      expect(mine.at(-1)!.payload.cid).to.equal(done.cid);
    } finally {
      socket.disconnect();
    }
  });

  it('serves the CSV rendering of a ledger snapshot, and its content only to admins', async () => {
    const list = (await api(`/v1/snapshots?tokenId=${symbol}&status=completed&limit=1`)).body.snapshots;
    const csv = await api(`/v1/snapshots/${list[0].snapshotId}/content`, { headers: { accept: 'text/csv' } });
    expect(csv.status).to.equal(200);
    const [head, first] = csv.text.split('\n');
    expect(head).to.equal('account,balance');
    expect(first).to.match(/^0\.0\.\d+,[1-9]\d*$/);
    const forbidden = await api(`/v1/snapshots/${list[0].snapshotId}/content`, { token: mint('alice') });
    expect(forbidden.status).to.equal(403);
    expect(forbidden.body.error.code).to.equal('FORBIDDEN');
    // Nor what is derived from the holders: a diff (of a ledger snapshot with itself) or its Merkle tree and proofs.
    const id = list[0].snapshotId;
    for (const path of [`/v1/snapshots/${id}/diff/${id}`, `/v1/snapshots/${id}/merkle`, `/v1/snapshots/${id}/proofs/0.0.1`]) {
      const derived = await api(path, { token: mint('alice') });
      expect(derived.status, path).to.equal(403);
      expect(derived.body.error.code, path).to.equal('FORBIDDEN');
    }
    expect((await api(`/v1/snapshots/${id}/merkle`)).status, 'an admin passes the check (a ledger snapshot has no tree)').to.equal(404);
  });

  it('refuses bad requests with 400/403/404 and a code, storing nothing', async () => {
    const before = await recordCount();
    const cases: [unknown, string | undefined, number, string][] = [
      [{ ledgerToken: symbol, at: 'yesterday' }, admin, 400, 'INVALID_AT'],
      [{ ledgerToken: symbol, at: '99999999999999-0' }, admin, 400, 'INVALID_AT'],
      [{ ledgerToken: symbol, at: '1-0' }, admin, 400, 'INVALID_AT'],
      [{ ledgerToken: symbol, at: '2999-01-01T00:00:00Z' }, admin, 400, 'INVALID_AT'],
      [{ ledgerToken: symbol, at: '18446744073709551616-0' }, admin, 400, 'INVALID_AT'],
      [{ ledgerToken: symbol, at: 'x'.repeat(65) }, admin, 400, 'INVALID_ARGUMENT'],
      [{ ledgerToken: 'bad sym' }, admin, 400, 'INVALID_ARGUMENT'],
      [{ ledgerToken: symbol, extra: 1 }, admin, 400, 'INVALID_ARGUMENT'],
      [{ ledgerToken: 'NOPE-NOT-THERE' }, admin, 404, 'TOKEN_NOT_FOUND'],
      [{ ledgerToken: symbol }, mint('alice'), 403, 'FORBIDDEN'],
    ];
    for (const [body, token, status, code] of cases) {
      const reply = await api('/v1/snapshots', { method: 'POST', body: JSON.stringify(body), ...(token ? { token } : {}) });
      expect(reply.status, JSON.stringify(body)).to.equal(status);
      expect(reply.body.error.code, JSON.stringify(body)).to.equal(code);
    }
    expect(await recordCount()).to.equal(before);
    for (const [query, code] of [['at=nonsense', 'INVALID_AT'], ['at=', 'INVALID_ARGUMENT'], ['at=1-0', 'INVALID_AT']] as const) {
      const reply = await api(`/v1/tokens/${symbol}/balances/0.0.2?${query}`);
      expect(reply.status, query).to.equal(400);
      expect(reply.body.error.code, query).to.equal(code);
    }
  });

  it(`answers 409 HISTORY_TOO_FAR beyond ${replayEntriesMax} entries from the nearest checkpoint, requests one, and then answers`, async () => {
    // A token of its own: its only checkpoint is init, thousands of entries back.
    const far = uniqueSymbol('F');
    const w = await generateWorkload(app.ledger, far, { operations: 30_000, accounts: 50, seed: 16 });
    const point = w.rounds.at(-1)!;
    expect(await app.redis.xLen(`token:{${far}}:log`)).to.be.above(replayEntriesMax);
    const path = `/v1/tokens/${far}/balances/${w.accounts[3]}?at=${point.eventId}`;
    const tooFar = await api(path);
    expect(tooFar.status, tooFar.text).to.equal(409);
    expect(tooFar.body.error.code).to.equal('HISTORY_TOO_FAR');
    const requested = (await api(`/v1/snapshots?tokenId=${far}&limit=10`)).body.snapshots;
    expect(requested).to.have.length(1);
    expect(requested[0]).to.include({ requestedTimestamp: point.eventId, requestedBy: 'tally-history' });
    await api(path); // a second refusal while the first checkpoint is pending requests no other
    expect((await api(`/v1/snapshots?tokenId=${far}&limit=10`)).body.snapshots).to.have.length(1);
    await completed(requested[0].snapshotId);
    const answered = await api(path);
    expect(answered.status).to.equal(200);
    expect(answered.body.balance).to.equal(String(point.balances.get(w.accounts[3]!) ?? 0n));
  });
});
