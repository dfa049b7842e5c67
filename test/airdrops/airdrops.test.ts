// Airdrops into a Tally token, end to end: the whole server in this process (start(): Agenda on
// Redis, Helia on disk, the Redis metadata stores, real HTTP and Socket.IO), snapshots taken by the
// real pipeline from the local mirror node, balances checked straight from Redis afterwards.
// - a pro-rata airdrop over a 10,000-holder snapshot: the legs sum exactly to `total`, every
//   holder gets the share an independent model computes, the treasury pays exactly `total`, the
//   audit holds, and the Socket.IO events arrive in order;
// - the same request twice under one Idempotency-Key (one after the other, and at once) is one
//   airdrop; the key with another request is 409 OP_CONFLICT;
// - the plan is deterministic: the same snapshot, rule, filters and from give the same CID;
// - bad input is refused with its code, and nothing is paid or stored.
import { expect } from 'chai';
import type { RedisClientType } from 'redis';
import type { Socket } from 'socket.io-client';
import { createAirdropsRouter } from '../../src/http/airdrops.ts';
import { createRedisSnapshotStore } from '../../src/snapshots/store/redis.ts';
import { connect, connectSocket } from '../../testkit/clients.ts';
import { generateHolders, type FakeHolder } from '../../testkit/mirror-node.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { until } from '../../testkit/wait.ts';
import { mint } from '../http/support.ts';
import { startSnapshotApi, type SnapshotApi } from '../snapshots/api-rig.ts';
import { balancesInRedis, expectedProRata, sumOf } from './rig.ts';

const bigTokenId = '0.0.770001';
const smallTokenId = '0.0.770002';
const otherTokenId = '0.0.770003';
const admin = mint('airdrop-admin', { admin: true });
const user = mint('airdrop-user');
const supply = 10n ** 40n;
const treasury = 'rewards-treasury';

interface AirdropEvent { type: string; payload: { airdropId: string; progress: number; paid: number; legs: number; status: string; planCid?: string; total?: string } }

describe('airdrops into a Tally token', function () {
  this.timeout(180_000);
  let rig: SnapshotApi;
  let redis: RedisClientType;
  const bigHolders = generateHolders({ count: 10_000, seed: 1616 });
  const smallHolders: FakeHolder[] = [
    { account: '0.0.7100', balance: 1_000_000n }, { account: '0.0.7101', balance: 200n }, { account: '0.0.7102', balance: 99n },
    { account: '0.0.7103', balance: 2_500n }, { account: '0.0.7104', balance: 100n },
  ];
  let bigSnapshot: { snapshotId: string; cid: string };
  let smallSnapshot: { snapshotId: string; cid: string };

  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, token = admin) =>
    rig.api(path, { method, token, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  async function makeToken(symbol = uniqueSymbol('AD')): Promise<string> {
    const created = await api('POST', '/v1/tokens', { symbol, name: 'Rewards', decimals: 6, totalSupply: String(supply), treasury });
    expect(created.status, created.text).to.equal(201);
    return symbol;
  }

  async function finished(symbol: string, airdropId: string): Promise<any> {
    let record: any;
    await until(async () => {
      record = (await api('GET', `/v1/tokens/${symbol}/airdrops/${airdropId}`)).body;
      return record.status === 'completed' || record.status === 'failed';
    }, { what: `airdrop ${airdropId} to finish`, timeoutMs: 120_000, stepMs: 50 });
    return record;
  }

  before(async () => {
    const total = (holders: FakeHolder[]) => holders.reduce((s, h) => s + h.balance, 0n);
    rig = await startSnapshotApi({ tokens: [
      { tokenId: bigTokenId, name: 'Big', symbol: 'BIG', decimals: 0, totalSupply: total(bigHolders), holders: bigHolders },
      { tokenId: smallTokenId, name: 'Vote', symbol: 'VOTE', decimals: 2, totalSupply: total(smallHolders), holders: smallHolders, treasury: '0.0.7100' },
      { tokenId: otherTokenId, name: 'Other', symbol: 'OTH', decimals: 0, totalSupply: 12n, holders: [{ account: '0.0.7101', balance: 5n }, { account: '0.0.7106', balance: 7n }] },
    ] });
    redis = await connect(sharedRedisUrl());
    bigSnapshot = await rig.snapshot({ tokenId: bigTokenId });
    smallSnapshot = await rig.snapshot({ tokenId: smallTokenId });
  });
  after(async () => {
    redis?.destroy();
    await rig?.close();
  });

  it('pays a pro-rata airdrop over a 10,000-holder snapshot exactly: legs summing to total, each holder its share, events in order', async () => {
    const symbol = await makeToken();
    const total = 10n ** 30n + 7n;
    const socket: Socket = connectSocket(rig.app.url!, '/snapshots', { accessToken: admin });
    const events: AirdropEvent[] = [];
    socket.on('airdrops_events', (event: AirdropEvent) => events.push(event));
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
    try {
      const posted = await api('POST', `/v1/tokens/${symbol}/airdrops`, { snapshotId: bigSnapshot.snapshotId, rule: 'proRata', total: String(total) });
      expect(posted.status, posted.text).to.equal(202);
      const { airdropId, planCid, legs } = posted.body;
      expect(posted.headers.get('location')).to.equal(`/v1/tokens/${symbol}/airdrops/${airdropId}`);
      const done = await finished(symbol, airdropId);
      expect(done, JSON.stringify(done.error)).to.include({ status: 'completed', symbol, snapshotId: bigSnapshot.snapshotId, snapshotCid: bigSnapshot.cid,
        from: treasury, rule: 'proRata', amount: null, total: String(total), planCid, legs, paid: legs, paidAmount: String(total), holders: 10_000, chunks: 10, chunksDone: 10 });
      expect(done.error).to.equal(null);

      // Independently: every balance in Redis against a model of the split.
      const expected = expectedProRata(bigHolders, total);
      expect(legs).to.equal(expected.size);
      const balances = await balancesInRedis(redis, symbol);
      expect(balances.get(treasury)).to.equal(supply - total);
      expect(sumOf(expected.values())).to.equal(total);
      expect(balances.size).to.equal(expected.size + 1);
      const wrong = [...expected].filter(([account, amount]) => balances.get(account) !== amount);
      expect(wrong.slice(0, 5)).to.deep.equal([]);

      // The plan names its inputs in line 1 and lists every leg, in account order.
      const plan = await api('GET', `/v1/tokens/${symbol}/airdrops/${airdropId}/plan`);
      expect(plan.status).to.equal(200);
      expect(plan.headers.get('x-content-cid')).to.equal(planCid);
      const lines = plan.text.trimEnd().split('\n');
      const { consensusTimestamp } = (await rig.api(`/v1/snapshots/${bigSnapshot.snapshotId}`)).body;
      expect(lines[0]).to.equal(JSON.stringify({ plan: 'tally-airdrop', version: 1, symbol, from: treasury, rule: 'proRata', amount: null, total: String(total),
        filters: null, snapshot: { cid: bigSnapshot.cid, tokenId: bigTokenId, network: 'testnet', timestamp: consensusTimestamp }, holders: 10_000, legs }));
      expect(lines).to.have.length(legs + 1);
      expect(sumOf(lines.slice(1).map((l) => BigInt(JSON.parse(l).amount)))).to.equal(total);

      const audit = await api('GET', `/v1/tokens/${symbol}/audit`);
      expect(audit.body, JSON.stringify(audit.body.violations)).to.include({ ok: true, violationCount: 0 });

      await until(() => events.some((e) => e.payload.airdropId === airdropId && e.type === 'airdrops_completed'), { what: 'airdrops_completed', timeoutMs: 10_000, stepMs: 20 });
      const mine = events.filter((e) => e.payload.airdropId === airdropId);
      expect(mine[0]!.type).to.equal('airdrops_active');
      expect(mine.at(-1)).to.deep.include({ type: 'airdrops_completed' });
      expect(mine.at(-1)!.payload).to.include({ status: 'completed', progress: 100, paid: legs, legs, total: String(total), planCid, symbol });
      const progress = mine.filter((e) => e.type === 'airdrops_progress').map((e) => e.payload.progress);
      expect(progress.length).to.equal(10);
      expect(progress).to.deep.equal([...progress].sort((a, b) => a - b));
    } finally {
      socket.disconnect();
    }
  });

  it('treats the same request twice under one Idempotency-Key as one airdrop, and the key with another request as a conflict', async () => {
    const symbol = await makeToken();
    const body = { snapshotId: smallSnapshot.snapshotId, rule: 'fixed', amount: '1000', exclude: ['0.0.7100'] };
    const key = { 'idempotency-key': `drop-${uniqueSymbol()}` };
    const first = await api('POST', `/v1/tokens/${symbol}/airdrops`, body, key);
    expect(first.status, first.text).to.equal(202);
    const done = await finished(symbol, first.body.airdropId);
    expect(done.status).to.equal('completed');
    const again = await api('POST', `/v1/tokens/${symbol}/airdrops`, body, key);
    expect(again.status).to.equal(202);
    expect(again.body).to.deep.equal(first.body);
    // At once, under a fresh key: both answer the same airdrop.
    const key2 = { 'idempotency-key': `drop-${uniqueSymbol()}` };
    const [a, b] = await Promise.all([api('POST', `/v1/tokens/${symbol}/airdrops`, body, key2), api('POST', `/v1/tokens/${symbol}/airdrops`, body, key2)]);
    expect([a.status, b.status]).to.deep.equal([202, 202]);
    expect(a.body.airdropId).to.equal(b.body.airdropId);
    expect((await finished(symbol, a.body.airdropId)).status).to.equal('completed');
    // Another caller's identical key is another key.
    const otherAdmin = mint('other-admin', { admin: true });
    const third = await api('POST', `/v1/tokens/${symbol}/airdrops`, body, key, otherAdmin);
    expect(third.status).to.equal(202);
    expect(third.body.airdropId).not.to.equal(first.body.airdropId);
    expect((await finished(symbol, third.body.airdropId)).status).to.equal('completed');

    const conflict = await api('POST', `/v1/tokens/${symbol}/airdrops`, { ...body, amount: '1001' }, key);
    expect(conflict.status).to.equal(409);
    expect(conflict.body.error.code).to.equal('OP_CONFLICT');

    const listed = await api('GET', `/v1/tokens/${symbol}/airdrops`);
    expect(listed.body.airdrops.map((r: any) => r.airdropId)).to.have.members([first.body.airdropId, a.body.airdropId, third.body.airdropId]);
    expect(listed.body.next).to.equal(null);
    // Three airdrops of 1000 to each of the four holders left after excluding 0.0.7100: 3000 each.
    const balances = await balancesInRedis(redis, symbol);
    for (const account of ['0.0.7101', '0.0.7102', '0.0.7103', '0.0.7104']) expect(balances.get(account), account).to.equal(3_000n);
    expect(balances.get(treasury)).to.equal(supply - 12_000n);
    expect(balances.has('0.0.7100')).to.equal(false);
  });

  it('plans deterministically: the same snapshot, rule, filters and from give the same bytes and CID', async () => {
    const symbol = await makeToken();
    const body = { snapshotId: smallSnapshot.snapshotId, rule: 'proRata', total: '1000', minBalance: '100', exclude: ['0.0.7100', '0.0.7100'] };
    const first = await api('POST', `/v1/tokens/${symbol}/airdrops`, body);
    const second = await api('POST', `/v1/tokens/${symbol}/airdrops`, { ...body, exclude: ['0.0.7100'] });
    expect(first.status, first.text).to.equal(202);
    expect(second.body.airdropId).not.to.equal(first.body.airdropId);
    expect(second.body.planCid).to.equal(first.body.planCid);
    // A second snapshot of the same token at the same timestamp has the same content: the same plan.
    const again = await rig.snapshot({ tokenId: smallTokenId, timestamp: (await rig.api(`/v1/snapshots/${smallSnapshot.snapshotId}`)).body.consensusTimestamp });
    expect(again.cid).to.equal(smallSnapshot.cid);
    const third = await api('POST', `/v1/tokens/${symbol}/airdrops`, { ...body, snapshotId: again.snapshotId });
    expect(third.body.planCid).to.equal(first.body.planCid);
    const otherRule = await api('POST', `/v1/tokens/${symbol}/airdrops`, { ...body, total: '1001' });
    expect(otherRule.body.planCid).not.to.equal(first.body.planCid);
    for (const id of [first, second, third, otherRule].map((r) => r.body.airdropId)) expect((await finished(symbol, id)).status).to.equal('completed');
    const plan = await api('GET', `/v1/tokens/${symbol}/airdrops/${first.body.airdropId}/plan`);
    // minBalance 100 leaves 0.0.7102 (99) out; 0.0.7100 is excluded: 1000 split over 200, 2500, 100.
    expect(plan.text.split('\n').slice(1)).to.deep.equal([
      '{"account":"0.0.7101","amount":"71"}', '{"account":"0.0.7103","amount":"893"}', '{"account":"0.0.7104","amount":"36"}', '',
    ]);
    expect(JSON.parse(plan.text.split('\n')[0]!).filters).to.deep.equal({ minBalance: '100', exclude: ['0.0.7100'] });
  });

  it('pays from the account named in from, and from a ledger snapshot of another Tally token', async () => {
    const source = await makeToken();
    await api('POST', `/v1/tokens/${source}/transfers`, { from: treasury, to: 'alice', amount: '300' });
    await api('POST', `/v1/tokens/${source}/transfers`, { from: treasury, to: 'bob', amount: '100' });
    const ledgerSnapshot = await rig.api('/v1/snapshots', { method: 'POST', token: admin, body: JSON.stringify({ ledgerToken: source }) });
    expect(ledgerSnapshot.status, ledgerSnapshot.text).to.equal(202);
    const snapshot = await rig.waitForStatus(ledgerSnapshot.body.snapshotId);
    expect(snapshot.status).to.equal('completed');
    const symbol = await makeToken();
    await api('POST', `/v1/tokens/${symbol}/transfers`, { from: treasury, to: 'pool', amount: '1000' });
    const posted = await api('POST', `/v1/tokens/${symbol}/airdrops`, { snapshotId: snapshot.snapshotId, from: 'pool', rule: 'proRata', total: '1000', exclude: [treasury] });
    expect(posted.status, posted.text).to.equal(202);
    expect((await finished(symbol, posted.body.airdropId)).status).to.equal('completed');
    const balances = await balancesInRedis(redis, symbol);
    expect(Object.fromEntries([...balances].filter(([a]) => a !== treasury))).to.deep.equal({ alice: 750n, bob: 250n });
  });

  it('documents every airdrop route in /openapi.json', async () => {
    const doc = (await rig.api('/openapi.json')).body;
    const { routes } = createAirdropsRouter({} as never);
    for (const route of routes) {
      const path = `/v1${route.path}`.replace(/:(\w+)/g, '{$1}');
      expect(doc.paths[path]?.[route.method], `${route.method} ${path}`).to.be.an('object');
    }
  });

  describe('bad input: a clear error, nothing paid, nothing stored', () => {
    let symbol: string;
    const post = (body: unknown, token = admin) => api('POST', `/v1/tokens/${symbol}/airdrops`, body, {}, token);
    before(async () => { symbol = await makeToken(); });

    async function refused(body: unknown, status: number, code: string, token = admin): Promise<string> {
      const answer = await post(body, token);
      expect(answer.status, answer.text).to.equal(status);
      expect(answer.body.error.code, answer.text).to.equal(code);
      return answer.body.error.message as string;
    }

    it('refuses an unknown snapshot, one not completed, and a combination of tokens', async () => {
      const rule = { rule: 'fixed', amount: '1' };
      expect(await refused({ snapshotId: '01890000-0000-7000-8000-000000000000', ...rule }, 404, 'SNAPSHOT_NOT_FOUND')).to.match(/not found/);
      expect(await refused({ snapshotId: 'not-an-id', ...rule }, 400, 'INVALID_ARGUMENT')).to.match(/body\.snapshotId/);
      const store = createRedisSnapshotStore({ redis, keyPrefix: `${rig.env.TALLY_NAMESPACE}:snap:` });
      const queued = await store.create({ tokenId: smallTokenId, network: 'testnet', requestedBy: 'someone' });
      expect(await refused({ snapshotId: queued.snapshotId, ...rule }, 409, 'NOT_READY')).to.match(/queued/);
      const combination = await rig.snapshot({ tokens: [{ tokenId: smallTokenId }, { tokenId: otherTokenId }], combine: 'any' });
      expect(await refused({ snapshotId: combination.snapshotId, ...rule }, 422, 'AIRDROP_SOURCE_UNSUPPORTED')).to.match(/combination/);
    });

    it('refuses a rule that pays no one', async () => {
      const snapshotId = smallSnapshot.snapshotId;
      await refused({ snapshotId, rule: 'fixed', amount: '0' }, 422, 'AIRDROP_PAYS_NOTHING');
      await refused({ snapshotId, rule: 'proRata', total: '0' }, 422, 'AIRDROP_PAYS_NOTHING');
      await refused({ snapshotId, rule: 'fixed', amount: '5', minBalance: '2000000' }, 422, 'AIRDROP_PAYS_NOTHING');
      await refused({ snapshotId, rule: 'proRata', total: '5', exclude: ['0.0.7100', '0.0.7101', '0.0.7102', '0.0.7103', '0.0.7104'] }, 422, 'AIRDROP_PAYS_NOTHING');
    });

    it('refuses amounts outside 0..2^256-1 and malformed rules', async () => {
      const snapshotId = smallSnapshot.snapshotId;
      const tooBig = String(2n ** 256n);
      expect(await refused({ snapshotId, rule: 'fixed', amount: tooBig }, 400, 'INVALID_AMOUNT')).to.match(/body\.amount: must be in 0\.\.2\^256-1/);
      await refused({ snapshotId, rule: 'proRata', total: tooBig }, 400, 'INVALID_AMOUNT');
      await refused({ snapshotId, rule: 'proRata', total: '-1' }, 400, 'INVALID_AMOUNT');
      await refused({ snapshotId, rule: 'fixed', amount: '1.5' }, 400, 'INVALID_AMOUNT');
      await refused({ snapshotId, rule: 'fixed', amount: 5 }, 400, 'INVALID_AMOUNT');
      await refused({ snapshotId, rule: 'fixed', amount: '1', minBalance: tooBig }, 400, 'INVALID_ARGUMENT');
      expect(await refused({ snapshotId, rule: 'fixed', total: '1' }, 400, 'INVALID_ARGUMENT')).to.match(/rule fixed takes amount/);
      expect(await refused({ snapshotId, rule: 'proRata', amount: '1' }, 400, 'INVALID_ARGUMENT')).to.match(/rule proRata takes total/);
      await refused({ snapshotId, rule: 'everyone', amount: '1' }, 400, 'INVALID_ARGUMENT');
      await refused({ snapshotId, rule: 'fixed', amount: '1', extra: true }, 400, 'INVALID_ARGUMENT');
    });

    it('refuses an unknown token, a bad from account, a from that cannot cover the plan, and a caller who is not an admin', async () => {
      const snapshotId = bigSnapshot.snapshotId;
      const unknown = await api('POST', `/v1/tokens/${uniqueSymbol('NO')}/airdrops`, { snapshotId, rule: 'fixed', amount: '1' });
      expect(unknown.status).to.equal(404);
      expect(unknown.body.error.code).to.equal('TOKEN_NOT_FOUND');
      await refused({ snapshotId, rule: 'fixed', amount: '1', from: 'no spaces allowed' }, 400, 'INVALID_ACCOUNT');
      await refused({ snapshotId, rule: 'fixed', amount: '1', exclude: ['bad account'] }, 400, 'INVALID_ARGUMENT');
      expect(await refused({ snapshotId, rule: 'fixed', amount: '1', from: 'nobody' }, 422, 'INSUFFICIENT_FUNDS')).to.match(/nobody holds 0, the airdrop pays 10000: nothing was paid or recorded/);
      await refused({ snapshotId, rule: 'fixed', amount: String(supply) }, 422, 'INSUFFICIENT_FUNDS');
      await refused({ snapshotId, rule: 'fixed', amount: '1' }, 403, 'FORBIDDEN', user);
      const list = await api('GET', `/v1/tokens/${symbol}/airdrops`, undefined, {}, user);
      expect(list.status).to.equal(403);
    });

    it('left nothing behind: no airdrop record, the treasury holds the whole supply', async () => {
      const listed = await api('GET', `/v1/tokens/${symbol}/airdrops`);
      expect(listed.status).to.equal(200);
      expect(listed.body).to.deep.equal({ airdrops: [], next: null });
      const balances = await balancesInRedis(redis, symbol);
      expect([...balances]).to.deep.equal([[treasury, supply]]);
      const missing = await api('GET', `/v1/tokens/${symbol}/airdrops/01890000-0000-7000-8000-000000000000`);
      expect(missing.status).to.equal(404);
      expect(missing.body.error.code).to.equal('AIRDROP_NOT_FOUND');
    });
  });
});
