// One contract for every SnapshotStore: run against Redis (standalone and a 3-master cluster)
// always, and against MongoDB when MONGODB_URL is set.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import {
  CheckpointRefusedError, checkpointBytesMax, idPattern, InvalidCursorError, InvalidIdError,
  InvalidSnapshotFieldError, InvalidTransitionError, snapshotRecordFields, SnapshotNotFoundError,
  type SnapshotRecord, type SnapshotStore,
} from '../../../src/snapshots/store/metadata-store.ts';
import { createRedisSnapshotStore } from '../../../src/snapshots/store/redis.ts';
import { createMongoSnapshotStore } from '../../../src/snapshots/store/mongo.ts';
import { connect, connectCluster } from '../../../testkit/clients.ts';
import { type RedisClusterHandle, startCluster } from '../../../testkit/redis-server.ts';
import { sharedRedisUrl } from '../../../testkit/shared-redis.ts';

type StoreFactory = () => Promise<SnapshotStore>;

const isoPattern = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const unknownId = '01890000-0000-7000-8000-000000000000';
const token = () => `0.0.${1000 + randomBytes(3).readUIntBE(0, 3)}`;

async function rejects<T extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(type);
    return error as T;
  }
  expect.fail(`expected a ${type.name}`);
}

export function snapshotStoreContract(factory: StoreFactory): void {
  let store: SnapshotStore;
  before(async () => { store = await factory(); });
  after(async () => { await store?.close(); });

  const queued = (tokenId = token(), requestedBy: string | null = 'alice') =>
    store.create({ tokenId, network: 'testnet', requestedTimestamp: '1700000000.123456789', requestedBy });

  describe('create and get', () => {
    it('stores a queued record with exactly the docs/snapshot-format.md fields', async () => {
      const tokenId = token();
      const record = await store.create({ tokenId, network: 'mainnet', requestedBy: 'alice' });
      expect(Object.keys(record).sort()).to.deep.equal([...snapshotRecordFields].sort());
      expect(record.snapshotId).to.match(idPattern);
      expect(record).to.include({
        tokenId, network: 'mainnet', status: 'queued', progress: 0, attempts: 0, requestedTimestamp: null,
        consensusTimestamp: null, holders: null, totalBalance: null, cid: null, bytes: null, requestedBy: 'alice',
        scheduleId: null, error: null, startedAt: null, finishedAt: null,
      });
      expect(record.createdAt).to.match(isoPattern);
      expect(Math.abs(Date.parse(record.createdAt) - Date.now())).to.be.below(5_000);
      expect(await store.get(record.snapshotId)).to.deep.equal(record);
    });

    it('keeps the requested timestamp and schedule id', async () => {
      const schedule = await store.createSchedule({ tokenId: token(), every: '1 hour', createdBy: 'admin' });
      const record = await store.create({ tokenId: schedule.tokenId, network: 'testnet', requestedTimestamp: '1700000000.000000001', scheduleId: schedule.id });
      expect(await store.get(record.snapshotId)).to.include({ requestedTimestamp: '1700000000.000000001', scheduleId: schedule.id, requestedBy: null });
    });

    it('refuses invalid input with a typed error naming the field', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ tokenId: '0.0.0123', network: 'mainnet' }, 'tokenId'],
        [{ tokenId: '0.0.123-vfmkw', network: 'mainnet' }, 'tokenId'],
        [{ tokenId: 'token:{X}', network: 'mainnet' }, 'tokenId'],
        [{ tokenId: '0.0.5', network: 'Main Net' }, 'network'],
        [{ tokenId: '0.0.5', network: 'mainnet', requestedTimestamp: 'now' }, 'requestedTimestamp'],
        [{ tokenId: '0.0.5', network: 'mainnet', requestedBy: 'a b' }, 'requestedBy'],
      ];
      for (const [input, field] of cases) {
        const error = await rejects(store.create(input as never), InvalidSnapshotFieldError);
        expect(error.field).to.equal(field);
        expect(error.status).to.equal(400);
      }
      await rejects(store.create({ tokenId: '0.0.5', network: 'mainnet', scheduleId: 'x' }), InvalidIdError);
    });

    it('returns null for an unknown id and rejects a malformed one before touching the database', async () => {
      expect(await store.get(unknownId)).to.equal(null);
      for (const bad of ['', 'abc', '*', `${unknownId}:x`, '0189ABCD-0000-7000-8000-000000000000', '01890000-0000-4000-8000-000000000000']) {
        await rejects(store.get(bad), InvalidIdError);
        await rejects(store.update(bad, { status: 'running' }), InvalidIdError);
        await rejects(store.getCheckpoint(bad), InvalidIdError);
      }
    });
  });

  describe('update and the status machine', () => {
    it('walks queued -> running -> running -> completed, stamping the times', async () => {
      const { snapshotId } = await queued();
      const running = await store.update(snapshotId, { status: 'running', attempts: 1, consensusTimestamp: '1700000000.000000000' });
      expect(running).to.include({ status: 'running', attempts: 1, consensusTimestamp: '1700000000.000000000', finishedAt: null });
      expect(running.startedAt).to.match(isoPattern);
      const progressed = await store.update(snapshotId, { progress: 42.5, holders: 100, totalBalance: '123456789012345678901234567890' });
      expect(progressed).to.include({ status: 'running', progress: 42.5, holders: 100, totalBalance: '123456789012345678901234567890' });
      const done = await store.update(snapshotId, { status: 'completed', cid: 'bafkreigh2akiscaildc', bytes: 4096, holders: 200 });
      expect(done).to.include({ status: 'completed', progress: 100, cid: 'bafkreigh2akiscaildc', bytes: 4096, holders: 200 });
      expect(done.finishedAt).to.match(isoPattern);
      expect(Date.parse(done.finishedAt!)).to.be.at.least(Date.parse(done.startedAt!));
      expect(await store.get(snapshotId)).to.deep.equal(done);
    });

    it('never leaves completed, and a refused change writes nothing', async () => {
      const { snapshotId } = await queued();
      await store.update(snapshotId, { status: 'running' });
      const done = await store.update(snapshotId, { status: 'completed', cid: 'bafyabc' });
      for (const patch of [{ status: 'running' }, { status: 'failed' }, { status: 'queued' }, { status: 'completed' }, { progress: 5 }] as const) {
        const error = await rejects(store.update(snapshotId, { ...patch, cid: 'bafyother' }), InvalidTransitionError);
        expect(error.from).to.equal('completed');
        expect(error.status).to.equal(409);
      }
      expect(await store.get(snapshotId)).to.deep.equal(done);
    });

    it('refuses skipping running, and updates without a status change outside running', async () => {
      const { snapshotId } = await queued();
      await rejects(store.update(snapshotId, { status: 'completed' }), InvalidTransitionError);
      await rejects(store.update(snapshotId, { progress: 10 }), InvalidTransitionError);
      await rejects(store.update(snapshotId, { status: 'queued' }), InvalidTransitionError);
      expect((await store.get(snapshotId))!.status).to.equal('queued');
    });

    it('lets a failed snapshot run again (a retry), clearing the error and finish time', async () => {
      const { snapshotId } = await queued();
      await store.update(snapshotId, { status: 'running', attempts: 1 });
      const failed = await store.update(snapshotId, { status: 'failed', error: { code: 'MIRROR_UNAVAILABLE', message: 'mirror node down' } });
      expect(failed).to.include({ status: 'failed' });
      expect(failed.error).to.deep.equal({ code: 'MIRROR_UNAVAILABLE', message: 'mirror node down' });
      expect(failed.finishedAt).to.match(isoPattern);
      await rejects(store.update(snapshotId, { status: 'completed' }), InvalidTransitionError);
      const retried = await store.update(snapshotId, { status: 'running', attempts: 2 });
      expect(retried).to.include({ status: 'running', attempts: 2, error: null, finishedAt: null });
      expect(await store.get(snapshotId)).to.deep.equal(retried);
    });

    it('allows queued -> failed (a job that never started)', async () => {
      const { snapshotId } = await queued();
      const failed = await store.update(snapshotId, { status: 'failed', error: { code: 'ENQUEUE_FAILED', message: 'no backend' } });
      expect(failed.status).to.equal('failed');
    });

    it('validates every patch field and leaves the record unchanged on a bad one', async () => {
      const { snapshotId } = await queued();
      const before = await store.update(snapshotId, { status: 'running' });
      const bad: [Record<string, unknown>, string][] = [
        [{ progress: 101 }, 'progress'], [{ progress: -1 }, 'progress'], [{ progress: Number.NaN }, 'progress'],
        [{ holders: -1 }, 'holders'], [{ holders: 1.5 }, 'holders'], [{ bytes: '10' }, 'bytes'],
        [{ totalBalance: '01' }, 'totalBalance'], [{ totalBalance: 5 }, 'totalBalance'], [{ totalBalance: '1e3' }, 'totalBalance'],
        [{ totalBalance: (1n << 256n).toString() }, 'totalBalance'],
        [{ cid: 'not a cid' }, 'cid'], [{ consensusTimestamp: '17e9' }, 'consensusTimestamp'],
        [{ error: 'boom' }, 'error'], [{ error: { code: 'lower', message: 'x' } }, 'error'],
        [{ status: 'done' }, 'status'], [{ startedAt: '2020-01-01T00:00:00.000Z' }, 'startedAt'], [{ snapshotId: unknownId }, 'snapshotId'],
        [{ attempts: -1 }, 'attempts'],
      ];
      for (const [patch, field] of bad) {
        const error = await rejects(store.update(snapshotId, patch as never), InvalidSnapshotFieldError);
        expect(error.field, JSON.stringify(patch)).to.equal(field);
      }
      expect(await store.get(snapshotId)).to.deep.equal(before);
    });

    it('reports an unknown snapshot as not found', async () => {
      const error = await rejects(store.update(unknownId, { status: 'running' }), SnapshotNotFoundError);
      expect(error.status).to.equal(404);
    });

    it('lets exactly one of two racing terminal updates win', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const { snapshotId } = await queued();
        await store.update(snapshotId, { status: 'running' });
        ids.push(snapshotId);
      }
      const outcomes = await Promise.all(ids.map((id) => Promise.allSettled([
        store.update(id, { status: 'completed', cid: 'bafywin' }),
        store.update(id, { status: 'failed', error: { code: 'X', message: 'lost' } }),
      ])));
      for (const [i, pair] of outcomes.entries()) {
        const won = pair.filter((p) => p.status === 'fulfilled') as PromiseFulfilledResult<SnapshotRecord>[];
        const lost = pair.filter((p) => p.status === 'rejected') as PromiseRejectedResult[];
        expect(won).to.have.length(1);
        expect(lost).to.have.length(1);
        expect(lost[0]!.reason).to.be.instanceOf(InvalidTransitionError);
        expect(await store.get(ids[i]!)).to.deep.equal(won[0]!.value);
      }
    });
  });

  describe('list', () => {
    const tokenA = token();
    const tokenB = token();
    const made: SnapshotRecord[] = [];
    before(async () => {
      // 7 of token A by alice, 5 of token B by bob; some running, two completed.
      for (let i = 0; i < 12; i++) {
        const record = await store.create({ tokenId: i < 7 ? tokenA : tokenB, network: 'testnet', requestedBy: i < 7 ? 'alice-l' : 'bob-l' });
        made.push(i % 3 === 0 ? await store.update(record.snapshotId, { status: 'running' }) : record);
      }
      made[0] = await store.update(made[0]!.snapshotId, { status: 'completed', cid: 'bafy0' });
      made[9] = await store.update(made[9]!.snapshotId, { status: 'completed', cid: 'bafy9' });
    });

    async function all(query: Parameters<SnapshotStore['list']>[0]): Promise<SnapshotRecord[]> {
      const out: SnapshotRecord[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 50; pages++) {
        const page = await store.list({ ...query, cursor });
        out.push(...page.items);
        if (page.nextCursor === null) return out;
        expect(page.items.length).to.be.at.most(query?.limit ?? 20);
        cursor = page.nextCursor;
      }
      expect.fail('too many pages');
    }

    const newestFirst = (records: SnapshotRecord[]) => [...records].reverse().map((r) => r.snapshotId);

    it('pages through a token newest first, each record once', async () => {
      const expected = newestFirst(made.filter((r) => r.tokenId === tokenA));
      for (const limit of [1, 2, 3, 7, 100]) {
        expect((await all({ tokenId: tokenA, limit })).map((r) => r.snapshotId), `limit ${limit}`).to.deep.equal(expected);
      }
      const first = await store.list({ tokenId: tokenA, limit: 7 });
      expect(first.nextCursor).to.equal(null);
    });

    it('filters by status, requester and combinations, following status changes', async () => {
      const check = async (query: Parameters<SnapshotStore['list']>[0], pick: (r: SnapshotRecord) => boolean) => {
        const got = (await all({ ...query, limit: 2 })).filter((r) => r.tokenId === tokenA || r.tokenId === tokenB);
        expect(got.map((r) => r.snapshotId), JSON.stringify(query)).to.deep.equal(newestFirst(made.filter(pick)));
      };
      await check({ tokenId: tokenB }, (r) => r.tokenId === tokenB);
      await check({ tokenId: tokenA, status: 'running' }, (r) => r.tokenId === tokenA && r.status === 'running');
      await check({ status: 'completed', tokenId: tokenB }, (r) => r.tokenId === tokenB && r.status === 'completed');
      await check({ requestedBy: 'bob-l' }, (r) => r.requestedBy === 'bob-l');
      await check({ requestedBy: 'alice-l', status: 'queued' }, (r) => r.requestedBy === 'alice-l' && r.status === 'queued');
      await check({ requestedBy: 'alice-l', tokenId: tokenB }, () => false);
      const running = (await all({ status: 'running', limit: 100 })).map((r) => r.snapshotId);
      expect(running).to.include(made[3]!.snapshotId);
      expect(running).not.to.include(made[0]!.snapshotId);
      const completed = (await all({ status: 'completed', limit: 100 })).map((r) => r.snapshotId);
      expect(completed).to.include.members([made[0]!.snapshotId, made[9]!.snapshotId]);
    });

    it('lists everything without filters, newest first', async () => {
      const page = await store.list({ limit: 100 });
      const ids = page.items.map((r) => r.snapshotId);
      expect(ids).to.deep.equal([...ids].sort().reverse());
      expect(ids).to.not.be.empty;
    });

    it('refuses bad limits, filters and cursors', async () => {
      for (const limit of [0, 101, 1.5, -1, '10']) await rejects(store.list({ limit: limit as number }), InvalidSnapshotFieldError);
      await rejects(store.list({ status: 'done' as never }), InvalidSnapshotFieldError);
      await rejects(store.list({ tokenId: '0.0.x' }), InvalidSnapshotFieldError);
      for (const cursor of ['', 'zzz', unknownId, Buffer.from('c1:nope').toString('base64url'), 'a'.repeat(200)]) {
        await rejects(store.list({ cursor }), InvalidCursorError);
      }
    });
  });

  describe('checkpoints', () => {
    const checkpoint = { afterAccount: '0.0.1500', holders: 1400, totalBalance: '98765432109876543210', bytesWritten: 77_000, parts: ['bafkpart1'], extra: { page: 14 } };

    it('saves, replaces, reads and clears a checkpoint kept out of the record', async () => {
      const { snapshotId } = await queued();
      await store.update(snapshotId, { status: 'running' });
      expect(await store.getCheckpoint(snapshotId)).to.equal(null);
      const saved = await store.saveCheckpoint(snapshotId, checkpoint);
      expect(saved).to.deep.include(checkpoint);
      expect(saved.savedAt).to.match(isoPattern);
      expect(await store.getCheckpoint(snapshotId)).to.deep.equal(saved);
      const next = await store.saveCheckpoint(snapshotId, { afterAccount: '0.0.2000', holders: 1900, totalBalance: '1' });
      expect(await store.getCheckpoint(snapshotId)).to.deep.equal(next);
      expect(Object.keys((await store.get(snapshotId))!).sort()).to.deep.equal([...snapshotRecordFields].sort());
      await store.clearCheckpoint(snapshotId);
      expect(await store.getCheckpoint(snapshotId)).to.equal(null);
    });

    it('survives a failure so the retry can resume, and is dropped on completion', async () => {
      const { snapshotId } = await queued();
      await store.update(snapshotId, { status: 'running' });
      const saved = await store.saveCheckpoint(snapshotId, checkpoint);
      await store.update(snapshotId, { status: 'failed', error: { code: 'TIMEOUT', message: 'x' } });
      expect(await store.getCheckpoint(snapshotId)).to.deep.equal(saved);
      await store.update(snapshotId, { status: 'running' });
      expect(await store.getCheckpoint(snapshotId)).to.deep.equal(saved);
      await store.update(snapshotId, { status: 'completed', cid: 'bafydone' });
      expect(await store.getCheckpoint(snapshotId)).to.equal(null);
      await rejects(store.saveCheckpoint(snapshotId, checkpoint), CheckpointRefusedError);
      expect(await store.getCheckpoint(snapshotId)).to.equal(null);
    });

    it('refuses checkpoints for unknown snapshots, bad fields and oversized ones', async () => {
      await rejects(store.saveCheckpoint(unknownId, checkpoint), SnapshotNotFoundError);
      const { snapshotId } = await queued();
      const bad = [
        { ...checkpoint, afterAccount: '0.0.01' }, { ...checkpoint, holders: -1 }, { ...checkpoint, totalBalance: '-5' },
        { ...checkpoint, holdersList: [] }, { ...checkpoint, parts: [''] }, { ...checkpoint, extra: [] },
        { ...checkpoint, extra: { blob: 'x'.repeat(checkpointBytesMax) } },
      ];
      for (const input of bad) await rejects(store.saveCheckpoint(snapshotId, input as never), InvalidSnapshotFieldError);
      expect(await store.getCheckpoint(snapshotId)).to.equal(null);
    });
  });

  describe('schedules', () => {
    it('creates, reads, lists per token newest first and deletes', async () => {
      const tokenId = token();
      const a = await store.createSchedule({ tokenId, every: '15 minutes', createdBy: 'admin' });
      const b = await store.createSchedule({ tokenId, every: '0 * * * *', createdBy: 'admin' });
      const other = await store.createSchedule({ tokenId: token(), every: '1 day', createdBy: 'root' });
      expect(a.id).to.match(idPattern);
      expect(a).to.include({ tokenId, every: '15 minutes', createdBy: 'admin' });
      expect(a.createdAt).to.match(isoPattern);
      expect(await store.getSchedule(a.id)).to.deep.equal(a);
      expect((await store.listSchedules({ tokenId })).items).to.deep.equal([b, a]);
      const page1 = await store.listSchedules({ tokenId, limit: 1 });
      expect(page1.items).to.deep.equal([b]);
      const page2 = await store.listSchedules({ tokenId, limit: 1, cursor: page1.nextCursor! });
      expect(page2).to.deep.equal({ items: [a], nextCursor: null });
      expect((await store.listSchedules({ limit: 100 })).items.map((s) => s.id)).to.include.members([a.id, b.id, other.id]);
      expect(await store.deleteSchedule(a.id)).to.equal(true);
      expect(await store.deleteSchedule(a.id)).to.equal(false);
      expect(await store.getSchedule(a.id)).to.equal(null);
      expect((await store.listSchedules({ tokenId })).items).to.deep.equal([b]);
    });

    it('validates schedules', async () => {
      await rejects(store.createSchedule({ tokenId: '0.0.1', every: '', createdBy: 'admin' }), InvalidSnapshotFieldError);
      await rejects(store.createSchedule({ tokenId: '0.0.1', every: 'x'.repeat(101), createdBy: 'admin' }), InvalidSnapshotFieldError);
      await rejects(store.createSchedule({ tokenId: 'abc', every: '1 hour', createdBy: 'admin' }), InvalidSnapshotFieldError);
      await rejects(store.createSchedule({ tokenId: '0.0.1', every: '1 hour', createdBy: '' }), InvalidSnapshotFieldError);
      await rejects(store.getSchedule('nope'), InvalidIdError);
    });
  });

  it('answers ping', async () => {
    await store.ping();
  });
}

const prefixFor = (tag: boolean) => {
  const suffix = randomBytes(4).toString('hex');
  return tag ? `{tally:snap-${suffix}}:` : `tally:snap-${suffix}:`;
};

describe('snapshot metadata store', function () {
  this.timeout(30_000);

  describe('Redis (standalone)', () => {
    const keyPrefix = prefixFor(false);
    snapshotStoreContract(async () => {
      const redis = await connect(sharedRedisUrl());
      return createRedisSnapshotStore({ redis, keyPrefix, ownsConnection: true });
    });

    it('writes only keys under its prefix, named from validated ids, with consistent status indexes', async () => {
      const redis = await connect(sharedRedisUrl());
      const prefix = prefixFor(false);
      const store = createRedisSnapshotStore({ redis, keyPrefix: prefix, checkpointTtlMs: 60_000 });
      try {
        const tokenId = token();
        const a = await store.create({ tokenId, network: 'mainnet', requestedBy: 'carol' });
        const b = await store.create({ tokenId, network: 'mainnet' });
        await store.create({ tokenId, network: 'mainnet' });
        await store.update(a.snapshotId, { status: 'running' });
        await store.saveCheckpoint(a.snapshotId, { afterAccount: null, holders: 0, totalBalance: '0' });
        await store.update(b.snapshotId, { status: 'running' });
        await store.update(b.snapshotId, { status: 'completed', cid: 'bafyb' });
        await store.createSchedule({ tokenId, every: '1 hour', createdBy: 'admin' });
        const keys = (await redis.keys('*')).map(String).filter((k) => k.includes(prefix.slice(0, -1)));
        expect(keys.every((k) => k.startsWith(prefix))).to.equal(true);
        const shapes = keys.map((k) => k.slice(prefix.length)
          .replace(/[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/, '<id>')
          .replace(tokenId, '<token>')).sort();
        expect(shapes).to.deep.equal([
          'ckpt:<id>', 'idx:all', 'idx:status:completed', 'idx:status:queued', 'idx:status:running', 'idx:token:<token>',
          'idx:user:carol', 'rec:<id>', 'rec:<id>', 'rec:<id>', 'sched:<id>', 'sidx:all', 'sidx:token:<token>',
        ]);
        const ttl = await redis.pTTL(`${prefix}ckpt:${a.snapshotId}`);
        expect(ttl).to.be.within(1, 60_000);
        expect((await redis.zRange(`${prefix}idx:status:queued`, 0, -1)).length).to.equal(1);
        expect((await redis.zRange(`${prefix}idx:status:running`, 0, -1)).map(String)).to.deep.equal([a.snapshotId]);
        expect((await redis.zRange(`${prefix}idx:status:completed`, 0, -1)).map(String)).to.deep.equal([b.snapshotId]);
      } finally {
        redis.destroy();
      }
    });
  });

  describe('Redis Cluster (3 masters, hash-tagged prefix)', function () {
    let cluster: RedisClusterHandle;
    before(async function () {
      this.timeout(30_000);
      cluster = await startCluster(3);
    });
    after(async () => { await cluster?.stop(); });

    snapshotStoreContract(async () => {
      const redis = await connectCluster(cluster.rootNodes);
      return createRedisSnapshotStore({ redis, keyPrefix: prefixFor(true), ownsConnection: true });
    });

    it('refuses a prefix without a hash tag on a cluster', async () => {
      const redis = await connectCluster(cluster.rootNodes);
      try {
        expect(() => createRedisSnapshotStore({ redis, keyPrefix: 'tally:snap:' })).to.throw(/hash tag/);
      } finally {
        redis.destroy();
      }
    });
  });

  describe('MongoDB', function () {
    const url = process.env.MONGODB_URL;
    const suffix = randomBytes(4).toString('hex');
    before(function () {
      if (!url) {
        console.log('      MongoDB contract skipped: MONGODB_URL is not set (no MongoDB server can run on this machine; set it, e.g. under docker compose, to run these tests)');
        this.skip();
      }
    });
    after(async () => {
      if (!url) return;
      const { MongoClient } = await import('mongodb');
      const client = new MongoClient(url);
      await client.connect();
      await client.db().collection(`snapshots_test_${suffix}`).drop().catch(() => {});
      await client.db().collection(`schedules_test_${suffix}`).drop().catch(() => {});
      await client.close();
    });
    snapshotStoreContract(() => createMongoSnapshotStore({
      url: url!, snapshotsCollection: `snapshots_test_${suffix}`, schedulesCollection: `schedules_test_${suffix}`,
    }));
  });
});
