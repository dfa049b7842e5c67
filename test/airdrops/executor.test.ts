// Paying a plan exactly once, at the level of the executor (src/airdrops/executor.ts) over the real
// ledger, the Redis airdrop store and Helia:
// - a runner that died after a chunk committed but before it was recorded: the next runner sends
//   the chunk again under its opId and the ledger answers from its record (nothing moves twice);
// - the same, after the token's op TTL let that record expire: the chunk is found in the log;
// - two runners at once, and a run stopped mid-way then resumed;
// - a plan that does not match its record pays nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { RedisClientType } from 'redis';
import { computePlan, encodePlan } from '../../src/airdrops/plan.ts';
import { chunkOpId, runAirdrop, type RunAirdropDeps } from '../../src/airdrops/executor.ts';
import { createRedisAirdropStore } from '../../src/airdrops/store/redis.ts';
import type { AirdropRecord, AirdropStore } from '../../src/airdrops/store/airdrop-store.ts';
import { createLedger, type Ledger } from '../../src/ledger/client.ts';
import { auditToken } from '../../src/ledger/audit.ts';
import { openIpfsStore, type IpfsStore } from '../../src/snapshots/ipfs-store.ts';
import { connect } from '../../testkit/clients.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep } from '../../testkit/wait.ts';
import { balancesInRedis } from './rig.ts';

const snapshotId = '01890000-0000-7000-8000-0000000000aa';
const treasury = 'treasury';
const holders = Array.from({ length: 250 }, (_, i) => ({ account: `0.0.${5000 + i}`, balance: BigInt(1 + (i % 7)) }));

describe('the airdrop executor', function () {
  this.timeout(60_000);
  let redis: RedisClientType;
  let ledger: Ledger;
  let store: AirdropStore;
  let ipfs: IpfsStore;
  let dir: string;

  before(async () => {
    redis = await connect(sharedRedisUrl());
    ledger = createLedger(redis);
    store = createRedisAirdropStore({ redis, keyPrefix: `test:airdrop:${uniqueSymbol().toLowerCase()}:` });
    dir = mkdtempSync(join(tmpdir(), 'tally-airdrop-'));
    ipfs = await openIpfsStore({ dir: join(dir, 'ipfs') });
  });
  after(async () => {
    await ipfs?.stop();
    redis?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A token, and a stored fixed airdrop of 10 to each of the 250 holders in chunks of `chunkLegs`. */
  async function planned(options: { opTtlSeconds?: number; chunkLegs?: number; supply?: bigint } = {}): Promise<{ symbol: string; record: AirdropRecord; deps: RunAirdropDeps }> {
    const symbol = uniqueSymbol('EX');
    await ledger.init(symbol, { name: 'Exec', decimals: 0, totalSupply: String(options.supply ?? 1_000_000n), treasury, ...(options.opTtlSeconds ? { opTtlSeconds: options.opTtlSeconds } : {}) });
    const plan = computePlan({ symbol, from: treasury, rule: { rule: 'fixed', amount: 10n }, filters: null, holders,
      snapshot: { cid: 'bafkreitestsnapshot', tokenId: '0.0.42', network: 'testnet', timestamp: '1700000000.000000000' } });
    const stored = await ipfs.addBytes(encodePlan(plan));
    const { record } = await store.create({ symbol, snapshotId, snapshotCid: 'bafkreitestsnapshot', from: treasury, rule: 'fixed', amount: '10', total: plan.header.total,
      filters: null, planCid: stored.cid, planBytes: stored.bytes, holders: plan.header.holders, legs: plan.header.legs, chunkLegs: options.chunkLegs ?? 100, requestedBy: 'test' });
    return { symbol, record, deps: { store, ipfs, ledger } };
  }

  async function expectPaidOnce(symbol: string, chunks: number, airdropId: string): Promise<void> {
    const balances = await balancesInRedis(redis, symbol);
    for (const { account } of holders) expect(balances.get(account), account).to.equal(10n);
    expect(balances.get(treasury)).to.equal(1_000_000n - 2_500n);
    const batches = [];
    for (let after = '-'; ;) {
      const page = await ledger.events(symbol, { after, count: 1000 });
      batches.push(...page.events.filter((e) => e.type === 'batch'));
      if (page.end) break;
      after = page.next;
    }
    expect(batches.map((e) => e.opId)).to.deep.equal(Array.from({ length: chunks }, (_, i) => chunkOpId(airdropId, i)));
    expect((await auditToken(redis, symbol)).ok).to.equal(true);
  }

  /** What a runner leaves when it dies right after chunk 0 committed: the chunk marked sent, not recorded. */
  async function diedAfterChunkZero(symbol: string, record: AirdropRecord): Promise<void> {
    await store.update(record.airdropId, { status: 'running', attempts: 1 });
    const sent = new Date().toISOString();
    await store.update(record.airdropId, { chunkStartedAt: sent, chunkSentAt: sent, lastEventId: await ledger.resolveAt(symbol) }, { expectChunksDone: 0 });
    await ledger.transferBatch(symbol, { opId: chunkOpId(record.airdropId, 0), legs: holders.slice(0, 100).map((h) => ({ from: treasury, to: h.account, amount: '10' })) });
  }

  it('pays every leg once, in chunks, each batch under its opId', async () => {
    const { symbol, record, deps } = await planned();
    const seen: number[] = [];
    const done = await runAirdrop(record.airdropId, { ...deps, onProgress: (r) => { seen.push(r.paid); } });
    expect(done).to.include({ status: 'completed', chunks: 3, chunksDone: 3, paid: 250, paidAmount: '2500', chunkStartedAt: null, chunkSentAt: null, attempts: 1 });
    expect(seen).to.deep.equal([100, 200, 250]);
    await expectPaidOnce(symbol, 3, record.airdropId);
    expect(await runAirdrop(record.airdropId, deps)).to.deep.equal(done); // a completed airdrop is left as it is
  });

  it('resumes after a runner died between a chunk\'s commit and its record: the ledger replays the chunk', async () => {
    const { symbol, record, deps } = await planned();
    await diedAfterChunkZero(symbol, record);
    expect((await balancesInRedis(redis, symbol)).get(holders[0]!.account)).to.equal(10n);
    const done = await runAirdrop(record.airdropId, deps);
    expect(done).to.include({ status: 'completed', paid: 250, attempts: 2 });
    await expectPaidOnce(symbol, 3, record.airdropId);
  });

  it('resumes after the op TTL let the chunk\'s record expire: the chunk is found in the log, not paid again', async () => {
    const { symbol, record, deps } = await planned({ opTtlSeconds: 1 });
    await diedAfterChunkZero(symbol, record);
    await sleep(2_100);
    expect(await redis.exists(`token:{${symbol}}:op:${chunkOpId(record.airdropId, 0)}`), 'the opId record expired').to.equal(0);
    const done = await runAirdrop(record.airdropId, deps);
    expect(done).to.include({ status: 'completed', paid: 250 });
    await expectPaidOnce(symbol, 3, record.airdropId);
  });

  it('finds in the log a chunk that committed on a later send than its first, past the op TTL', async () => {
    const { symbol, record, deps } = await planned({ opTtlSeconds: 1 });
    await store.update(record.airdropId, { status: 'running', attempts: 1 });
    // First sent 20 minutes ago without committing; sent again now by a run that died right after the commit.
    const first = new Date(Date.now() - 20 * 60_000).toISOString();
    await store.update(record.airdropId, { chunkStartedAt: first, chunkSentAt: new Date().toISOString(), lastEventId: await ledger.resolveAt(symbol) }, { expectChunksDone: 0 });
    // Other traffic in between, well past the first send (a round trip, so the balances end as they were).
    await ledger.transfer(symbol, { from: treasury, to: 'someone', amount: '1' });
    await ledger.transfer(symbol, { from: 'someone', to: treasury, amount: '1' });
    await ledger.transferBatch(symbol, { opId: chunkOpId(record.airdropId, 0), legs: holders.slice(0, 100).map((h) => ({ from: treasury, to: h.account, amount: '10' })) });
    await sleep(1_100);
    expect((await runAirdrop(record.airdropId, deps)).paid).to.equal(250);
    await expectPaidOnce(symbol, 3, record.airdropId);
  });

  it('sends a chunk marked sent but never committed again, also after the op TTL', async () => {
    const { symbol, record, deps } = await planned({ opTtlSeconds: 1 });
    await store.update(record.airdropId, { status: 'running', attempts: 1 });
    const sent = new Date().toISOString();
    await store.update(record.airdropId, { chunkStartedAt: sent, chunkSentAt: sent, lastEventId: await ledger.resolveAt(symbol) }, { expectChunksDone: 0 });
    await sleep(1_100);
    expect((await runAirdrop(record.airdropId, deps)).paid).to.equal(250);
    await expectPaidOnce(symbol, 3, record.airdropId);
  });

  it('lets two runners at once pay every leg once', async () => {
    const { symbol, record, deps } = await planned({ chunkLegs: 10 });
    const [a, b] = await Promise.all([runAirdrop(record.airdropId, deps), runAirdrop(record.airdropId, deps)]);
    expect(a.status).to.equal('completed');
    expect(b.status).to.equal('completed');
    await expectPaidOnce(symbol, 25, record.airdropId);
  });

  it('stops between chunks when aborted, and a later run resumes where it stopped', async () => {
    const { symbol, record, deps } = await planned({ chunkLegs: 50 });
    const stop = new AbortController();
    const error = await runAirdrop(record.airdropId, { ...deps, onProgress: (r) => { if (r.chunksDone === 2) stop.abort(new Error('stopping')); }, signal: stop.signal }).catch((e: Error) => e);
    expect((error as Error).message).to.equal('stopping');
    expect(await store.get(record.airdropId)).to.include({ status: 'running', chunksDone: 2, paid: 100 });
    expect((await runAirdrop(record.airdropId, deps)).paid).to.equal(250);
    await expectPaidOnce(symbol, 5, record.airdropId);
  });

  it('refuses to start when from cannot cover what is left, and pays nothing', async () => {
    const { symbol, record, deps } = await planned({ supply: 2_000n });
    const error = await runAirdrop(record.airdropId, deps).catch((e: Error & { code?: string }) => e);
    expect((error as { code?: string }).code).to.equal('INSUFFICIENT_FUNDS');
    expect((error as Error).message).to.equal('treasury holds 2000, the legs left to pay need 2500: nothing was paid');
    expect([...(await balancesInRedis(redis, symbol))]).to.deep.equal([[treasury, 2_000n]]);
  });

  it('pays nothing when the plan does not match its record', async () => {
    const { symbol, record, deps } = await planned();
    const other = await ipfs.addBytes([Buffer.from(`${JSON.stringify({ plan: 'tally-airdrop', version: 1, symbol, from: treasury, rule: 'fixed', amount: '10', total: '2500',
      filters: null, snapshot: { cid: 'bafkreitestsnapshot', tokenId: '0.0.42', network: 'testnet', timestamp: null }, holders: 250, legs: 250 })}\n{"account":"0.0.1","amount":"2500"}\n`)]);
    const tampered = { ...deps, ipfs: { ...ipfs, cat: (cid: string, o?: { signal?: AbortSignal }) => ipfs.cat(cid === record.planCid ? other.cid : cid, o) } };
    const error = await runAirdrop(record.airdropId, tampered).catch((e: Error & { code?: string }) => e);
    expect((error as { code?: string }).code).to.equal('INVALID_AIRDROP_PLAN');
    expect([...(await balancesInRedis(redis, symbol))]).to.deep.equal([[treasury, 1_000_000n]]);
  });
});
