// Snapshot fidelity (issue 13 point 8), with real parts: the local mirror node over HTTP, the
// Redis metadata store, the offline Helia importer. Every part of a snapshot comes from one
// balance snapshot: the header's token info is the token at that timestamp, a resumed run never
// mixes rows of two balance snapshots, and a row that is no amount fails at once, for good.
import { expect } from 'chai';
import { type FakeMirrorNode, generateHolders } from '../../testkit/mirror-node.ts';
import type { MirrorClient } from '../../src/snapshots/mirror/client.ts';
import type { IpfsStore } from '../../src/snapshots/ipfs-store.ts';
import type { SnapshotStore } from '../../src/snapshots/store/metadata-store.ts';
import { isPermanentFailure, runSnapshot, type PipelineDeps } from '../../src/snapshots/pipeline.ts';
import { collect, startPipelineRig, type PipelineRig } from './pipeline-rig.ts';

const snapshotAt = '1716885861.254421003';
const changingId = '0.0.600001';
const resumedId = '0.0.600002';
const hugeId = '0.0.600003';
const edgeId = '0.0.600004';
const amountMax = 2n ** 256n - 1n;

async function failureOf(promise: Promise<unknown>): Promise<Error & { code?: string; retryable?: boolean }> {
  try { await promise; } catch (error) { return error as Error; }
  throw new Error('expected a failure');
}

describe('snapshot fidelity: one balance snapshot, one token state', function () {
  this.timeout(60_000);
  const holders = generateHolders({ count: 3_000, seed: 21 });
  const supply = holders.reduce((s, h) => s + h.balance, 0n);
  let rig: PipelineRig;
  let node: FakeMirrorNode;
  let store: SnapshotStore;
  let ipfs: IpfsStore;
  let mirror: MirrorClient;
  const deps = (overrides: Partial<PipelineDeps> = {}) => rig.deps(overrides);
  const tokenRequests = () => node.stats.requestLog.filter((r) => r.path.startsWith('/api/v1/tokens/') && !r.path.endsWith('/balances'));

  before(async () => {
    rig = await startPipelineRig({ snapshotTimestamp: snapshotAt, tokens: [
      { tokenId: changingId, name: 'Changing', symbol: 'CHG', decimals: 6, totalSupply: supply, holders },
      { tokenId: resumedId, name: 'Resumed', symbol: 'RES', decimals: 0, totalSupply: supply, holders },
      { tokenId: hugeId, name: 'Huge', symbol: 'HUGE', decimals: 0, totalSupply: amountMax, holders: [
        { account: '0.0.10', balance: 5n }, { account: '0.0.11', balance: amountMax + 1n },
      ] },
      { tokenId: edgeId, name: 'Edge', symbol: 'EDGE', decimals: 0, totalSupply: amountMax, holders: [{ account: '0.0.12', balance: amountMax }] },
    ] }, { maxAttempts: 3 });
    ({ node, store, ipfs, mirror } = rig);
  });
  after(() => rig.close());

  it('gives the same bytes and CID for the same token and timestamp after the live token info changed', async () => {
    node.resetStats();
    const first = await runSnapshot((await store.create({ tokenId: changingId, network: 'testnet' })).snapshotId, deps());
    expect(first.consensusTimestamp).to.equal(snapshotAt);
    // A mint and a rename after the balance snapshot: today's token is not the token then.
    node.updateToken(changingId, '1716885900.000000000', { name: 'Changed', totalSupply: supply * 3n, decimals: 8 });
    const again = await runSnapshot((await store.create({ tokenId: changingId, network: 'testnet', requestedTimestamp: snapshotAt })).snapshotId, deps());
    // Pinned later than the change, the balances still come from the snapshot at snapshotAt,
    // and so does the token info: the same bytes again.
    const later = await runSnapshot((await store.create({ tokenId: changingId, network: 'testnet', requestedTimestamp: '1716885950' })).snapshotId, deps());
    expect(again.cid).to.equal(first.cid);
    expect(later.cid).to.equal(first.cid);
    const header = JSON.parse((await collect(ipfs.cat(again.cid!))).split('\n')[0]!);
    expect(header).to.deep.equal({ tokenId: changingId, network: 'testnet', timestamp: snapshotAt, name: 'Changing', symbol: 'CHG',
      decimals: 6, totalSupply: supply.toString(), type: 'FUNGIBLE_COMMON' });
    // Every token info request named a timestamp.
    expect(tokenRequests().map((r) => r.query)).to.include(`?timestamp=${snapshotAt}`);
    expect(tokenRequests().every((r) => r.query.startsWith('?timestamp='))).to.equal(true);
    // A snapshot that lands on a newer balance snapshot takes the token as it was then.
    node.publishSnapshot('1716886000.000000000', {});
    const newer = await runSnapshot((await store.create({ tokenId: changingId, network: 'testnet' })).snapshotId, deps());
    expect(newer.cid).to.not.equal(first.cid);
    expect(JSON.parse((await collect(ipfs.cat(newer.cid!))).split('\n')[0]!)).to.include({ name: 'Changed', decimals: 8, totalSupply: (supply * 3n).toString() });
  });

  it('fails the resumed attempt when the mirror node answers from another balance snapshot than the checkpoint', async () => {
    // Pinned well after the first balance snapshot, so a snapshot published later but before the
    // pin is what a restarted mirror node answers from.
    const pinned = '1716890000.000000000';
    const answeredFrom = node.latestSnapshotTimestamp();
    const record = await store.create({ tokenId: resumedId, network: 'testnet', requestedTimestamp: pinned });
    let pages = 0;
    const crashing = deps({ checkpointEveryPages: 5, mirror: { ...mirror, balancePages: async function* (...args: Parameters<MirrorClient['balancePages']>) {
      for await (const page of mirror.balancePages(...args)) {
        if (++pages > 12) throw new Error('simulated crash');
        yield page;
      }
    } } });
    expect((await failureOf(runSnapshot(record.snapshotId, crashing))).message).to.equal('simulated crash');
    const checkpoint = await store.getCheckpoint(record.snapshotId);
    expect(checkpoint).to.include({ holders: 1_000, consensusTimestamp: answeredFrom });

    node.publishSnapshot('1716889000.000000000', { [resumedId]: holders.map((h) => ({ account: h.account, balance: h.balance + 1n })) });
    const failure = await failureOf(runSnapshot(record.snapshotId, deps()));
    expect(failure.code).to.equal('MIRROR_SNAPSHOT_CHANGED');
    expect(failure.retryable).to.equal(true); // a later attempt may find the checkpoint's snapshot again
    expect(failure.message).to.include(answeredFrom).and.include('1716889000.000000000');
    const after = await store.get(record.snapshotId);
    expect(after).to.include({ cid: null, status: 'running' });
    expect(await store.getCheckpoint(record.snapshotId)).to.deep.equal(checkpoint); // nothing of the new snapshot was kept
  });

  it('fails at once, for good, on a balance above 2^256 - 1, before anything reaches IPFS', async () => {
    const record = await store.create({ tokenId: hugeId, network: 'testnet' });
    const failure = await failureOf(runSnapshot(record.snapshotId, deps()));
    expect(failure.code).to.equal('MIRROR_PROTOCOL');
    expect(failure.message).to.include('0.0.11').and.include('2^256-1');
    expect(isPermanentFailure(failure)).to.equal(true);
    expect(await store.get(record.snapshotId)).to.include({ cid: null });
    // 2^256 - 1 itself is an amount.
    const edge = await runSnapshot((await store.create({ tokenId: edgeId, network: 'testnet' })).snapshotId, deps());
    expect(edge).to.include({ status: 'completed', holders: 1, totalBalance: amountMax.toString() });
  });
});
