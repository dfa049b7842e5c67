// What completed snapshots serve, end to end over REST and the CLI (src/snapshots/products.ts):
// the Merkle root and a proof for every holder of a 10,000-holder snapshot, each checked by an
// independent keccak256 verifier (test/snapshots/merkle.test.ts), not by the tree library.
import { expect } from 'chai';
import { generateHolders } from '../../testkit/mirror-node.ts';
import { connectSocket } from '../../testkit/clients.ts';
import { mint } from '../http/support.ts';
import { longZeroAddress } from '../../src/snapshots/merkle.ts';
import { startSnapshotApi, type SnapshotApi } from './api-rig.ts';
import { verifyIndependently } from './merkle-verifier.ts';

const bigToken = '0.0.880001';
const emptyToken = '0.0.880002';
const filterToken = '0.0.880003';
const treasury = '0.0.4100';
const diffToken = '0.0.880004';
const diffBefore = [
  { account: '0.0.5001', balance: 100n }, { account: '0.0.5002', balance: 2n ** 60n }, { account: '0.0.5003', balance: 7n }, { account: '1.0.1', balance: 1n },
];
/** 0.0.5001 sells out, 0.0.5002 gains 1 above 2^60, 0.0.5003 keeps 7, 0.0.5004 and 0.1.9 arrive, 1.0.1 keeps 1. */
const diffAfter = [
  { account: '0.0.5002', balance: 2n ** 60n + 1n }, { account: '0.0.5003', balance: 7n }, { account: '0.0.5004', balance: 100n }, { account: '0.1.9', balance: 3n }, { account: '1.0.1', balance: 1n },
];
const laterTimestamp = '1716886761.000000001';
const comboA = '0.0.880005';
const comboB = '0.0.880006';
const holdersA = [{ account: '0.0.6001', balance: 50n }, { account: '0.0.6002', balance: 100n }, { account: '0.0.6003', balance: 2n ** 70n }, { account: '0.0.6005', balance: 100n }];
const holdersB = [{ account: '0.0.6002', balance: 1n }, { account: '0.0.6003', balance: 9n }, { account: '0.0.6004', balance: 4n }, { account: '0.0.6001', balance: 3n }];
/** Balances around 2^53, where a double would round, and a treasury that holds most of them. */
const filterHolders = [
  { account: '0.0.4001', balance: 2n ** 53n },
  { account: '0.0.4002', balance: 2n ** 53n + 1n },
  { account: '0.0.4003', balance: 2n ** 53n + 2n },
  { account: '0.0.4004', balance: 5n },
  { account: '0.0.4005', balance: 10n ** 30n },
  { account: treasury, balance: 10n ** 40n },
];

async function lines(rig: SnapshotApi, snapshotId: string): Promise<string[]> {
  const { text } = await rig.api(`/v1/snapshots/${snapshotId}/content`);
  return text.split('\n').slice(0, -1);
}

describe('snapshot products: Merkle roots and proofs', function () {
  this.timeout(180_000);
  const holders = generateHolders({ count: 10_000, seed: 21, zeroBalances: 10 });
  let rig: SnapshotApi;
  let big: any;

  before(async () => {
    rig = await startSnapshotApi({ tokens: [
      { tokenId: bigToken, name: 'Airdrop', symbol: 'AIR', decimals: 4, totalSupply: holders.reduce((s, h) => s + h.balance, 0n), holders },
      { tokenId: emptyToken, name: 'Empty', symbol: 'NONE', decimals: 0, totalSupply: 1n, holders: [] },
      { tokenId: filterToken, name: 'Votes', symbol: 'VOTE', decimals: 0, totalSupply: 10n ** 41n, treasury, holders: filterHolders },
      { tokenId: diffToken, name: 'Moves', symbol: 'MOVE', decimals: 2, totalSupply: 2n ** 61n, holders: diffBefore },
      { tokenId: comboA, name: 'A', symbol: 'A', decimals: 0, totalSupply: 2n ** 71n, holders: holdersA },
      { tokenId: comboB, name: 'B', symbol: 'B', decimals: 0, totalSupply: 17n, holders: holdersB },
    ] });
    big = await rig.snapshot({ tokenId: bigToken });
  });
  after(() => rig?.close());

  it('serves the root of a 10,000-holder snapshot and a proof for every holder that keccak256 alone verifies', async () => {
    const merkle = await rig.api(`/v1/snapshots/${big.snapshotId}/merkle`);
    expect(merkle.status).to.equal(200);
    expect(merkle.body).to.have.keys('root', 'leafEncoding', 'leaves', 'treeCid');
    expect(merkle.body).to.deep.include({ leafEncoding: ['address', 'uint256'], leaves: 10_000, root: big.merkle.root, treeCid: big.merkle.treeCid });
    const funded = holders.filter((h) => h.balance > 0n);
    let verified = 0;
    const concurrency = 8;
    for (let i = 0; i < funded.length; i += concurrency) {
      await Promise.all(funded.slice(i, i + concurrency).map(async (holder) => {
        const { status, body } = await rig.api(`/v1/snapshots/${big.snapshotId}/proofs/${holder.account}`);
        expect(status).to.equal(200);
        expect(body).to.include({ account: holder.account, address: longZeroAddress(holder.account), amount: holder.balance.toString() });
        expect(body.proof.length).to.be.within(13, 14); // ceil/floor of log2(10,000)
        if (verifyIndependently(merkle.body.root, body.address, body.amount, body.proof)) verified += 1;
      }));
    }
    expect(verified).to.equal(10_000);
  });

  it('answers 404 NOT_A_HOLDER for an account that holds nothing, and 400 for a malformed one', async () => {
    const zero = holders.find((h) => h.balance === 0n)!;
    const none = await rig.api(`/v1/snapshots/${big.snapshotId}/proofs/${zero.account}`);
    expect(none.status).to.equal(404);
    expect(none.body.error.code).to.equal('NOT_A_HOLDER');
    for (const bad of ['0.0.abc', '0.0.01', '0x12', '1.2.3.4']) {
      const answer = await rig.api(`/v1/snapshots/${big.snapshotId}/proofs/${encodeURIComponent(bad)}`);
      expect(answer.status, bad).to.equal(400);
    }
    const unknown = await rig.api('/v1/snapshots/01890a5d-ac96-7e3f-8f1a-000000000000/merkle');
    expect(unknown.status).to.equal(404);
    expect(unknown.body.error.code).to.equal('SNAPSHOT_NOT_FOUND');
  });

  it('answers 404 NO_MERKLE_TREE for a snapshot without holders', async () => {
    const empty = await rig.snapshot({ tokenId: emptyToken });
    expect(empty.merkle).to.equal(null);
    const answer = await rig.api(`/v1/snapshots/${empty.snapshotId}/merkle`);
    expect(answer.status).to.equal(404);
    expect(answer.body.error.code).to.equal('NO_MERKLE_TREE');
  });

  it('stores the tree dump on IPFS in the standard-v1 format, and builds the same root again', async () => {
    const { stdout } = await rig.tally(['cat', big.merkle.treeCid]);
    const parsed = JSON.parse(stdout);
    expect(parsed).to.include({ format: 'standard-v1' });
    expect(parsed.tree[0]).to.equal(big.merkle.root);
    expect(parsed.values).to.have.length(10_000);
    const again = await rig.snapshot({ tokenId: bigToken });
    expect(again.merkle).to.deep.equal(big.merkle);
  });

  it('tally proof prints the proof the REST route serves', async () => {
    const holder = holders[5]!;
    const { stdout, code, stderr } = await rig.tally(['proof', big.snapshotId, holder.account]);
    expect(code, stderr).to.equal(0);
    const rest = await rig.api(`/v1/snapshots/${big.snapshotId}/proofs/${holder.account}`);
    expect(JSON.parse(stdout)).to.deep.equal(rest.body);
    const missing = await rig.tally(['proof', big.snapshotId, holders.find((h) => h.balance === 0n)!.account]);
    expect(missing.code).to.not.equal(0);
    expect(missing.stderr).to.match(/NOT_A_HOLDER/);
  });

  describe('filters', () => {
    it('keeps holders at or above minBalance exactly (around 2^53), without the excluded accounts and the treasury, and says so in line 1', async () => {
      const filters = { minBalance: (2n ** 53n + 1n).toString(), exclude: ['treasury', '0.0.4005'] };
      const done = await rig.snapshot({ tokenId: filterToken, filters });
      expect(done.filters).to.deep.equal(filters);
      const [header, ...rows] = await lines(rig, done.snapshotId);
      expect(JSON.parse(header!).filters).to.deep.equal({ minBalance: filters.minBalance, exclude: ['0.0.4005', treasury] });
      expect(header).to.match(/,"type":"FUNGIBLE_COMMON","filters":\{"minBalance":"9007199254740993","exclude":\["0.0.4005","0.0.4100"\]\}\}$/);
      expect(rows).to.deep.equal([`{"account":"0.0.4002","balance":"${2n ** 53n + 1n}"}`, `{"account":"0.0.4003","balance":"${2n ** 53n + 2n}"}`]);
      expect(done).to.include({ holders: 2, totalBalance: (2n ** 54n + 3n).toString() });
      expect(done.merkle.leaves).to.equal(2);
    });

    it('gives the same bytes for the same filters, other bytes for other filters, and the unfiltered bytes for none', async () => {
      const a = await rig.snapshot({ tokenId: filterToken, filters: { exclude: ['treasury'] } });
      const b = await rig.snapshot({ tokenId: filterToken, filters: { exclude: ['treasury', 'treasury'] } });
      const c = await rig.snapshot({ tokenId: filterToken, filters: { exclude: [treasury] } });
      const d = await rig.snapshot({ tokenId: filterToken, filters: { minBalance: '0' } });
      const plain = await rig.snapshot({ tokenId: filterToken });
      const empty = await rig.snapshot({ tokenId: filterToken, filters: {} });
      expect(b.cid).to.equal(a.cid);
      expect(c.cid).to.equal(a.cid); // the treasury resolved is the same account
      expect(new Set([a.cid, d.cid, plain.cid]).size).to.equal(3);
      expect(empty.cid).to.equal(plain.cid);
      expect(empty.filters).to.equal(null);
      expect((await lines(rig, plain.snapshotId))[0]).to.not.include('filters');
    });

    it('answers 400 for malformed filters and stores nothing', async () => {
      const before = await rig.api(`/v1/snapshots?tokenId=${filterToken}&limit=100`);
      for (const filters of [{ minBalance: 5 }, { minBalance: '-1' }, { minBalance: '1e3' }, { minBalance: '1'.repeat(79) }, { exclude: ['alice'] },
        { exclude: '0.0.1' }, { exclude: Array.from({ length: 101 }, (_, i) => `0.0.${i + 1}`) }, { minCount: -1 }, { minCount: 1.5 }, { top: 10 }]) {
        const answer = await rig.api('/v1/snapshots', { method: 'POST', body: JSON.stringify({ tokenId: filterToken, filters }) });
        expect(answer.status, JSON.stringify(filters)).to.equal(400);
        expect(answer.body.error.code).to.match(/^INVALID_/);
      }
      const after = await rig.api(`/v1/snapshots?tokenId=${filterToken}&limit=100`);
      expect(after.body.snapshots.map((r: any) => r.snapshotId)).to.deep.equal(before.body.snapshots.map((r: any) => r.snapshotId));
    });

    it('fails a minCount snapshot of a fungible token with FILTER_NOT_APPLICABLE, at once', async () => {
      const created = await rig.api('/v1/snapshots', { method: 'POST', body: JSON.stringify({ tokenId: filterToken, filters: { minCount: 2 } }) });
      const failed = await rig.waitForStatus(created.body.snapshotId);
      expect(failed).to.include({ status: 'failed', attempts: 1 });
      expect(failed.error.code).to.equal('FILTER_NOT_APPLICABLE');
    });
  });

  describe('diffs', () => {
    let before: any;
    let after: any;
    const expected = [
      '{"account":"0.0.5001","change":"lost","old":"100","new":"0"}',
      `{"account":"0.0.5002","change":"changed","old":"${2n ** 60n}","new":"${2n ** 60n + 1n}"}`,
      '{"account":"0.0.5004","change":"gained","old":"0","new":"100"}',
      '{"account":"0.1.9","change":"gained","old":"0","new":"3"}',
    ];

    it('lists who gained, lost and changed between two snapshots of a token, in account order, with old and new balances', async () => {
      const first = rig.node.latestSnapshotTimestamp();
      rig.node.publishSnapshot(laterTimestamp, { [diffToken]: diffAfter });
      before = await rig.snapshot({ tokenId: diffToken, timestamp: first });
      after = await rig.snapshot({ tokenId: diffToken });
      expect(after.consensusTimestamp).to.equal(laterTimestamp);
      const answer = await rig.api(`/v1/snapshots/${before.snapshotId}/diff/${after.snapshotId}`);
      expect(answer.status).to.equal(200);
      expect(answer.headers.get('content-type')).to.match(/^application\/x-ndjson/);
      const [header, ...rows] = answer.text.split('\n').slice(0, -1);
      expect(JSON.parse(header!)).to.deep.equal({ diff: 'holders', tokenId: diffToken, network: 'testnet',
        from: { cid: before.cid, timestamp: first }, to: { cid: after.cid, timestamp: laterTimestamp } });
      expect(rows).to.deep.equal(expected);
      expect(answer.headers.get('x-diff-counts')).to.equal('gained=2, lost=1, changed=1');
    });

    it('gives the same bytes and CID every time, and the reverse diff swaps gained and lost', async () => {
      const one = await rig.api(`/v1/snapshots/${before.snapshotId}/diff/${after.snapshotId}`);
      const again = await rig.snapshot({ tokenId: diffToken });
      const two = await rig.api(`/v1/snapshots/${before.snapshotId}/diff/${again.snapshotId}`);
      expect(two.text).to.equal(one.text);
      expect(two.headers.get('x-content-cid')).to.equal(one.headers.get('x-content-cid'));
      const back = await rig.api(`/v1/snapshots/${after.snapshotId}/diff/${before.snapshotId}`);
      expect(back.text.split('\n').slice(1, -1)).to.deep.equal([
        '{"account":"0.0.5001","change":"gained","old":"0","new":"100"}',
        `{"account":"0.0.5002","change":"changed","old":"${2n ** 60n + 1n}","new":"${2n ** 60n}"}`,
        '{"account":"0.0.5004","change":"lost","old":"100","new":"0"}',
        '{"account":"0.1.9","change":"lost","old":"3","new":"0"}',
      ]);
      const same = await rig.api(`/v1/snapshots/${after.snapshotId}/diff/${again.snapshotId}`);
      expect(same.text.split('\n').slice(1, -1)).to.deep.equal([]);
    });

    it('refuses snapshots of two tokens (422 SNAPSHOTS_NOT_COMPARABLE) and malformed ids (400)', async () => {
      const refused = await rig.api(`/v1/snapshots/${before.snapshotId}/diff/${big.snapshotId}`);
      expect(refused.status).to.equal(422);
      expect(refused.body.error.code).to.equal('SNAPSHOTS_NOT_COMPARABLE');
      const bad = await rig.api(`/v1/snapshots/${before.snapshotId}/diff/not-an-id`);
      expect(bad.status).to.equal(400);
    });

    it('tally diff prints the bytes the REST route serves, and its CID and counts on stderr', async () => {
      const rest = await rig.api(`/v1/snapshots/${before.snapshotId}/diff/${after.snapshotId}`);
      const cli = await rig.tally(['diff', before.snapshotId, after.snapshotId]);
      expect(cli.code, cli.stderr).to.equal(0);
      expect(cli.stdout).to.equal(rest.text);
      expect(cli.stderr).to.include(`diff ${rest.headers.get('x-content-cid')}: 2 gained, 1 lost, 1 changed`);
    });
  });

  const body = (combine: string, extra: Record<string, unknown> = {}) => ({ tokens: [{ tokenId: comboA, filters: { minBalance: '100' } }, { tokenId: comboB }], combine, ...extra });

  describe('combinations', () => {

    it('joins the holders of A (at least 100) and B at one timestamp, each balance kept, naming its sources\' CIDs', async () => {
      const done = await rig.snapshot(body('all'));
      expect(done).to.include({ tokenId: comboA, holders: 2, totalBalance: null, merkle: null });
      expect(done.combination.mode).to.equal('all');
      const sources = await Promise.all(done.combination.sources.map(async (s: any) => (await rig.api(`/v1/snapshots/${s.snapshotId}`)).body));
      expect(sources.map((r: any) => [r.tokenId, r.status, r.requestedTimestamp, r.cid])).to.deep.equal(done.combination.sources.map((s: any) => [s.tokenId, 'completed', done.consensusTimestamp, s.cid]));
      expect(sources[0].filters).to.deep.equal({ minBalance: '100' });
      const [header, ...rows] = await lines(rig, done.snapshotId);
      expect(JSON.parse(header!)).to.deep.equal({ combine: 'all', network: 'testnet', timestamp: done.consensusTimestamp,
        sources: sources.map((r: any) => ({ tokenId: r.tokenId, cid: r.cid, timestamp: r.consensusTimestamp })) });
      expect(rows).to.deep.equal([
        `{"account":"0.0.6002","balances":{"${comboA}":"100","${comboB}":"1"}}`,
        `{"account":"0.0.6003","balances":{"${comboA}":"${2n ** 70n}","${comboB}":"9"}}`,
      ]);
      const csv = await rig.api(`/v1/snapshots/${done.snapshotId}/content`, { headers: { accept: 'text/csv' } });
      expect(csv.text).to.equal(`account,${comboA},${comboB}\n0.0.6002,100,1\n0.0.6003,${2n ** 70n},9\n`);
    });

    it('with any, keeps every holder of either, 0 where it holds none; the same request gives the same CID', async () => {
      const done = await rig.snapshot(body('any'));
      const rows = (await lines(rig, done.snapshotId)).slice(1).map((line) => JSON.parse(line));
      expect(rows.map((r) => [r.account, r.balances[comboA], r.balances[comboB]])).to.deep.equal([
        ['0.0.6001', '0', '3'], ['0.0.6002', '100', '1'], ['0.0.6003', (2n ** 70n).toString(), '9'], ['0.0.6004', '0', '4'], ['0.0.6005', '100', '0'],
      ]);
      const again = await rig.snapshot(body('any'));
      expect(again.cid).to.equal(done.cid);
      const merkle = await rig.api(`/v1/snapshots/${done.snapshotId}/merkle`);
      expect(merkle.body.error.code).to.equal('NO_MERKLE_TREE');
      const diff = await rig.api(`/v1/snapshots/${done.snapshotId}/diff/${again.snapshotId}`);
      expect(diff.body.error.code).to.equal('SNAPSHOTS_NOT_COMPARABLE');
    });

    it('reports the combination job over Socket.IO with the snapshot event contract', async () => {
      const socket = connectSocket(rig.app.url!, '/snapshots', { accessToken: mint('alice') });
      const events: any[] = [];
      socket.on('snapshots_events', (e: unknown) => events.push(e));
      try {
        await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
        const done = await rig.snapshot(body('all'));
        const mine = () => events.filter((e) => e.payload.snapshotId === done.snapshotId);
        for (let i = 0; i < 100 && !mine().some((e) => e.type === 'snapshots_completed'); i++) await new Promise((r) => setTimeout(r, 50));
        const types = mine().map((e) => e.type);
        expect(types[0]).to.equal('snapshots_active');
        expect(types.at(-1)).to.equal('snapshots_completed');
        expect(mine().at(-1).payload).to.include({ jobName: 'snapshot', snapshotId: done.snapshotId, status: 'completed', progress: 100, cid: done.cid });
        const progress = mine().filter((e) => e.type === 'snapshots_progress').map((e) => e.payload.progress);
        expect(progress).to.deep.equal([...progress].sort((a, b) => a - b));
        expect(progress.every((p) => p > 0 && p < 100)).to.equal(true);
      } finally {
        socket.disconnect();
      }
    });

    it('tally snapshot A B --combine with --filters by token makes the same bytes as the REST request', async () => {
      const rest = await rig.snapshot(body('all'));
      const cli = await rig.tally(['snapshot', comboA, comboB, '--combine', 'all', '--filters', JSON.stringify({ [comboA]: { minBalance: '100' } })]);
      expect(cli.code, cli.stderr).to.equal(0);
      expect(JSON.parse(cli.stdout)).to.include({ tokenId: comboA, cid: rest.cid, holders: 2 });
      const usage = await rig.tally(['snapshot', comboA, comboB]);
      expect(usage.code).to.equal(2);
      expect(usage.stderr).to.match(/--combine/);
    });

    it('answers 400 for a malformed combination and stores nothing', async () => {
      const before = await rig.api('/v1/snapshots?limit=100');
      for (const bad of [
        { tokens: [{ tokenId: comboA }], combine: 'all' },
        { tokens: [{ tokenId: comboA }, { tokenId: comboA }], combine: 'all' },
        { tokens: [{ tokenId: comboA }, { tokenId: comboB }] },
        { tokens: [{ tokenId: comboA }, { tokenId: comboB }], combine: 'xor' },
        { tokens: [{ tokenId: comboA }, { tokenId: comboB }], combine: 'all', tokenId: comboA },
        { tokens: [{ tokenId: comboA }, { tokenId: comboB }], combine: 'all', filters: { minBalance: '1' } },
        { tokens: [{ tokenId: comboA }, { tokenId: '0.0.x' }], combine: 'any' },
        { tokens: [{ tokenId: comboA }, { tokenId: comboB, filters: { minBalance: 'ten' } }], combine: 'any' },
        { tokens: Array.from({ length: 11 }, (_, i) => ({ tokenId: `0.0.${i + 1}` })), combine: 'any' },
        { combine: 'all' },
      ]) {
        const answer = await rig.api('/v1/snapshots', { method: 'POST', body: JSON.stringify(bad) });
        expect(answer.status, JSON.stringify(bad)).to.equal(400);
      }
      const after = await rig.api('/v1/snapshots?limit=100');
      expect(after.body.snapshots.map((r: any) => r.snapshotId)).to.deep.equal(before.body.snapshots.map((r: any) => r.snapshotId));
    });
  });

  describe('schedules with the same options', () => {
    const admin = mint('root', { roles: ['admin'] });
    /** The completed runs of a schedule (a combination's own sources carry its scheduleId too: `combined` picks). */
    async function runsOf(scheduleId: string, tokenId: string, count: number, combined = false): Promise<any[]> {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const runs = (await rig.api(`/v1/snapshots?tokenId=${tokenId}&limit=100`)).body.snapshots
          .filter((r: any) => r.scheduleId === scheduleId && r.status === 'completed' && (r.combination !== null) === combined);
        if (runs.length >= count) return runs;
        if (Date.now() > deadline) throw new Error(`schedule ${scheduleId} made ${runs.length} completed snapshots`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }

    it('runs "holders of A and B with at least 100 A" on its schedule: each run a combination with those filters', async () => {
      const created = await rig.api('/v1/snapshot-schedules', { method: 'POST', token: admin, body: JSON.stringify({
        tokens: [{ tokenId: comboA, filters: { minBalance: '100' } }, { tokenId: comboB }], combine: 'all', every: '1 second' }) });
      expect(created.status, created.text).to.equal(201);
      expect(created.body).to.deep.include({ tokenId: comboA, filters: null,
        combination: { mode: 'all', tokens: [{ tokenId: comboA, filters: { minBalance: '100' } }, { tokenId: comboB, filters: null }] } });
      expect((await rig.api(`/v1/snapshot-schedules/${created.body.id}`, { token: admin })).body).to.deep.equal(created.body);
      try {
        const runs = await runsOf(created.body.id, comboA, 2, true);
        const oneOff = await rig.snapshot(body('all'));
        for (const run of runs) {
          expect(run.combination.mode).to.equal('all');
          expect(run.combination.sources.map((s: any) => [s.tokenId, s.filters])).to.deep.equal([[comboA, { minBalance: '100' }], [comboB, null]]);
          expect(run.cid).to.equal(oneOff.cid); // the same sources at the same balance snapshot: the same bytes
        }
      } finally {
        expect((await rig.api(`/v1/snapshot-schedules/${created.body.id}`, { method: 'DELETE', token: admin })).status).to.equal(204);
      }
    });

    it('runs a filtered snapshot of one token on its schedule, and refuses malformed options (400, nothing stored)', async () => {
      const created = await rig.api('/v1/snapshot-schedules', { method: 'POST', token: admin, body: JSON.stringify({ tokenId: filterToken, filters: { exclude: ['treasury'] }, every: '1 second' }) });
      expect(created.status, created.text).to.equal(201);
      try {
        const [run] = await runsOf(created.body.id, filterToken, 1);
        expect(run.filters).to.deep.equal({ exclude: ['treasury'] });
        expect((await lines(rig, run.snapshotId))[0]).to.include(`"filters":{"exclude":["${treasury}"]}`);
      } finally {
        await rig.api(`/v1/snapshot-schedules/${created.body.id}`, { method: 'DELETE', token: admin });
      }
      const before = (await rig.api('/v1/snapshot-schedules?limit=100', { token: admin })).body.schedules.length;
      for (const bad of [{ tokenId: filterToken, filters: { minBalance: '-5' }, every: '1 hour' }, { tokens: [{ tokenId: comboA }], combine: 'all', every: '1 hour' },
        { tokens: [{ tokenId: comboA }, { tokenId: comboB }], every: '1 hour' }, { tokenId: filterToken, tokens: [{ tokenId: comboA }, { tokenId: comboB }], combine: 'any', every: '1 hour' }]) {
        const answer = await rig.api('/v1/snapshot-schedules', { method: 'POST', token: admin, body: JSON.stringify(bad) });
        expect(answer.status, JSON.stringify(bad)).to.equal(400);
      }
      expect((await rig.api('/v1/snapshot-schedules?limit=100', { token: admin })).body.schedules.length).to.equal(before);
    });
  });
});
