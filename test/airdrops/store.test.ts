// One contract for every AirdropStore: against Redis always, against MongoDB when MONGODB_URL is set.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { airdropRecordFields, type AirdropStore, type NewAirdrop } from '../../src/airdrops/store/airdrop-store.ts';
import { createMongoAirdropStore } from '../../src/airdrops/store/mongo.ts';
import { createRedisAirdropStore } from '../../src/airdrops/store/redis.ts';
import { idPattern } from '../../src/snapshots/store/metadata-store.ts';
import { connect } from '../../testkit/clients.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';

const hex = () => randomBytes(32).toString('hex');

function input(symbol: string, overrides: Partial<NewAirdrop> = {}): NewAirdrop {
  return {
    symbol, snapshotId: '01890000-0000-7000-8000-0000000000bb', snapshotCid: 'bafkreisnapshot', from: 'treasury', rule: 'proRata', amount: null,
    total: '1000', filters: { minBalance: '5', exclude: ['0.0.1'] }, planCid: 'bafkreiplan', planBytes: 123, holders: 12, legs: 10, chunkLegs: 4, requestedBy: 'admin',
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try { await promise; } catch (error) { return error as Error & { code?: string }; }
  throw new Error('expected a rejection');
}

function airdropStoreContract(factory: () => Promise<AirdropStore>): void {
  let store: AirdropStore;
  before(async () => { store = await factory(); });
  after(async () => { await store?.close(); });

  it('stores a pending record with exactly the docs/airdrops.md fields', async () => {
    const { record, created } = await store.create(input(uniqueSymbol()));
    expect(created).to.equal(true);
    expect(Object.keys(record).sort()).to.deep.equal([...airdropRecordFields].sort());
    expect(record.airdropId).to.match(idPattern);
    expect(record).to.include({ status: 'pending', chunks: 3, chunksDone: 0, paid: 0, paidAmount: '0', lastEventId: null, chunkStartedAt: null, chunkSentAt: null, attempts: 0, error: null, startedAt: null, finishedAt: null });
    expect(await store.get(record.airdropId)).to.deep.equal(record);
    expect(await store.get('01890000-0000-7000-8000-000000000000')).to.equal(null);
    expect((await rejection(store.get('nope'))).code).to.equal('INVALID_ID');
  });

  it('lets an idempotency key name one airdrop: the same request returns it, another is OP_CONFLICT', async () => {
    const symbol = uniqueSymbol();
    const claim = { key: `rest:${hex()}`, fingerprint: hex() };
    const first = await store.create(input(symbol), claim);
    const again = await store.create(input(symbol), claim);
    expect(again).to.deep.equal({ record: first.record, created: false });
    expect(await store.findByKey(claim.key)).to.deep.equal({ airdropId: first.record.airdropId, fingerprint: claim.fingerprint });
    expect(await store.findByKey(`rest:${hex()}`)).to.equal(null);
    expect((await rejection(store.create(input(symbol), { key: claim.key, fingerprint: hex() }))).code).to.equal('OP_CONFLICT');
    const cliKey = `cli:${hex()}`;
    const at = await Promise.all([1, 2, 3].map(() => store.create(input(symbol), { key: cliKey, fingerprint: claim.fingerprint })));
    expect(new Set(at.map((r) => r.record.airdropId)).size).to.equal(1);
    expect(at.filter((r) => r.created)).to.have.length(1);
    expect((await store.list({ symbol })).items).to.have.length(2);
    expect((await rejection(store.findByKey('free text'))).code).to.equal('INVALID_ARGUMENT');
  });

  it('moves through the statuses, stamping the times, and refuses what the machine forbids', async () => {
    const { record } = await store.create(input(uniqueSymbol()));
    const running = await store.update(record.airdropId, { status: 'running', attempts: 1 });
    expect(running.startedAt).to.be.a('string');
    const failed = await store.update(record.airdropId, { status: 'failed', error: { code: 'INSUFFICIENT_FUNDS', message: 'short' } });
    expect(failed.finishedAt).to.be.a('string');
    const pending = await store.update(record.airdropId, { status: 'pending' });
    expect(pending).to.include({ status: 'pending', finishedAt: null });
    await store.update(record.airdropId, { status: 'running' });
    const done = await store.update(record.airdropId, { status: 'completed' });
    expect(done.error).to.equal(null);
    expect((await rejection(store.update(record.airdropId, { status: 'running' }))).code).to.equal('INVALID_TRANSITION');
    expect(await store.get(record.airdropId)).to.deep.equal(done);
  });

  it('writes progress only forward, and refuses an update planned from another chunksDone', async () => {
    const { record } = await store.create(input(uniqueSymbol()));
    await store.update(record.airdropId, { status: 'running' });
    const sent = await store.update(record.airdropId, { chunkStartedAt: new Date().toISOString(), lastEventId: '1700000000000-0' }, { expectChunksDone: 0 });
    expect(sent.lastEventId).to.equal('1700000000000-0');
    const paid = await store.update(record.airdropId, { chunksDone: 1, paid: 4, paidAmount: '400', lastEventId: '1700000000001-0', chunkStartedAt: null }, { expectChunksDone: 0 });
    expect(paid).to.include({ chunksDone: 1, paid: 4, paidAmount: '400', chunkStartedAt: null });
    expect((await rejection(store.update(record.airdropId, { chunksDone: 2 }, { expectChunksDone: 0 }))).code).to.equal('CONCURRENT_UPDATE');
    expect((await rejection(store.update(record.airdropId, { chunksDone: 0 }))).code).to.equal('INVALID_ARGUMENT');
    expect((await rejection(store.update(record.airdropId, { chunksDone: 4 }))).code).to.equal('INVALID_ARGUMENT');
    expect((await store.get(record.airdropId))!.chunksDone).to.equal(1);
  });

  it('lists a token\'s airdrops newest first, one page at a time, by status too', async () => {
    const symbol = uniqueSymbol();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await store.create(input(symbol))).record.airdropId);
    await store.update(ids[1]!, { status: 'failed' });
    const first = await store.list({ symbol, limit: 2 });
    expect(first.items.map((r) => r.airdropId)).to.deep.equal([ids[4], ids[3]]);
    const second = await store.list({ symbol, limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((r) => r.airdropId)).to.deep.equal([ids[2], ids[1]]);
    const third = await store.list({ symbol, limit: 2, cursor: second.nextCursor! });
    expect(third).to.deep.equal({ items: [(await store.get(ids[0]!))!], nextCursor: null });
    expect((await store.list({ symbol, status: 'failed' })).items.map((r) => r.airdropId)).to.deep.equal([ids[1]]);
    expect((await rejection(store.list({ symbol, cursor: 'junk' }))).code).to.equal('INVALID_CURSOR');
  });

  it('refuses a record that breaks its rules', async () => {
    expect((await rejection(store.create(input(uniqueSymbol(), { total: String(2n ** 256n) })))).code).to.equal('INVALID_ARGUMENT');
    expect((await rejection(store.create(input(uniqueSymbol(), { chunkLegs: 1001 })))).code).to.equal('INVALID_ARGUMENT');
    expect((await rejection(store.create(input(uniqueSymbol(), { rule: 'fixed', amount: null })))).code).to.equal('INVALID_ARGUMENT');
    expect((await rejection(store.create(input('bad symbol')))).code).to.equal('INVALID_ARGUMENT');
  });
}

describe('airdrop store contract', () => {
  describe('on Redis', () => {
    airdropStoreContract(async () => createRedisAirdropStore({ redis: await connect(sharedRedisUrl()), keyPrefix: `test:adstore:${uniqueSymbol().toLowerCase()}:`, ownsConnection: true }));
  });
  describe('on MongoDB', function () {
    before(function () { if (!process.env.MONGODB_URL) { console.log('      skipped: MONGODB_URL is not set'); this.skip(); } });
    airdropStoreContract(async () => createMongoAirdropStore({ url: process.env.MONGODB_URL!, collection: `airdrops_${uniqueSymbol().toLowerCase()}` }));
  });
});
