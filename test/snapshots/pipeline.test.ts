// The snapshot pipeline end to end, with real parts: the local mirror node over HTTP, the Redis
// metadata store, the offline Helia importer on disk. No scheduler here (see jobs/scheduler.test.ts).
import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type FakeHolder, type FakeMirrorNode, generateHolders } from '../../testkit/mirror-node.ts';
import type { MirrorClient } from '../../src/snapshots/mirror/client.ts';
import type { IpfsStore } from '../../src/snapshots/ipfs-store.ts';
import type { SnapshotStore } from '../../src/snapshots/store/metadata-store.ts';
import { runSnapshot, type PipelineDeps } from '../../src/snapshots/pipeline.ts';
import { collect, startPipelineRig, type PipelineRig } from './pipeline-rig.ts';

const tokenId = '0.0.424242';
const holderCount = 10_000;

function expectedLines(holders: FakeHolder[]): string[] {
  const key = (a: string) => a.split('.').map(BigInt);
  return holders.filter((h) => h.balance > 0n)
    .sort((x, y) => {
      const [a, b] = [key(x.account), key(y.account)];
      for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
      return 0;
    })
    .map((h) => `{"account":"${h.account}","balance":"${h.balance}"}`);
}

describe('snapshot pipeline', function () {
  this.timeout(60_000);
  const holders = generateHolders({ count: holderCount, seed: 11, zeroBalances: 50 });
  const totalSupply = holders.reduce((s, h) => s + h.balance, 0n) * 2n;
  let rig: PipelineRig;
  let node: FakeMirrorNode;
  let store: SnapshotStore;
  let ipfs: IpfsStore;
  let mirror: MirrorClient;
  let dir: string;
  const deps = (overrides: Partial<PipelineDeps> = {}) => rig.deps(overrides);

  before(async () => {
    rig = await startPipelineRig({ tokens: [
      { tokenId, name: 'Big Token', symbol: 'BIG', decimals: 8, totalSupply, holders },
      { tokenId: '0.0.5', name: 'Empty', symbol: 'EMPTY', decimals: 0, totalSupply: 0n, holders: [] },
    ] });
    ({ node, store, ipfs, mirror, dir } = rig);
  });
  after(() => rig.close());

  it('snapshots 10,000 holders exactly, at one timestamp, and twice to the same CID', async () => {
    node.resetStats();
    const first = await store.create({ tokenId, network: 'testnet', requestedBy: 'alice' });
    const progress: number[] = [];
    const done = await runSnapshot(first.snapshotId, deps({ onProgress: (p) => { progress.push(p); } }));
    expect(done).to.include({ status: 'completed', progress: 100, holders: holderCount, attempts: 1 });
    expect(done.totalBalance).to.equal((totalSupply / 2n).toString());
    expect(done.consensusTimestamp).to.equal(node.latestSnapshotTimestamp());

    const text = await collect(ipfs.cat(done.cid!));
    expect(Buffer.byteLength(text)).to.equal(done.bytes);
    const lines = text.split('\n');
    expect(lines.pop()).to.equal('');
    expect(lines[0]).to.equal(`{"tokenId":"${tokenId}","network":"testnet","timestamp":"${done.consensusTimestamp}","name":"Big Token","symbol":"BIG","decimals":8,"totalSupply":"${totalSupply}","type":"FUNGIBLE_COMMON"}`);
    expect(lines.slice(1)).to.deep.equal(expectedLines(holders));
    expect(holders.some((h) => h.balance > 2n ** 53n)).to.equal(true);

    const pinned = new Set(node.stats.balanceTimestamps);
    expect(pinned.size).to.equal(1);
    expect(node.stats.balanceTimestamps.length).to.be.at.least(holderCount / 100);
    expect(progress).to.deep.equal([...progress].sort((a, b) => a - b));
    // The mean of the supply share (half the supply is held: 50%) and the account-id share (the
    // last holder is the highest account: 100%).
    expect(progress.at(-1)).to.be.within(70, 75);

    const second = await store.create({ tokenId, network: 'testnet', requestedTimestamp: done.consensusTimestamp });
    const again = await runSnapshot(second.snapshotId, deps());
    expect(again.cid).to.equal(done.cid);
    expect(readdirSync(join(dir, 'work'))).to.deep.equal([]);
  });

  it('resumes after a crash mid-way and produces the same CID', async () => {
    const reference = await runSnapshot((await store.create({ tokenId, network: 'testnet' })).snapshotId, deps());
    const record = await store.create({ tokenId, network: 'testnet' });
    // Die after 45 pages: 2 checkpoints (every 20 pages) are behind us, 5 pages are not.
    let pages = 0;
    const crashing = deps({
      checkpointEveryPages: 20,
      mirror: { ...mirror, balancePages: async function* (...args: Parameters<MirrorClient['balancePages']>) {
        for await (const page of mirror.balancePages(...args)) {
          if (++pages > 45) throw new Error('simulated crash');
          yield page;
        }
      } },
    });
    let crashed: unknown;
    try { await runSnapshot(record.snapshotId, crashing); } catch (error) { crashed = error; }
    expect((crashed as Error).message).to.equal('simulated crash');
    const checkpoint = await store.getCheckpoint(record.snapshotId);
    expect(checkpoint).to.include({ holders: 4000 });

    node.resetStats();
    const resumed = await runSnapshot(record.snapshotId, deps());
    expect(resumed).to.include({ status: 'completed', cid: reference.cid, holders: holderCount, attempts: 2 });
    // It read on from the checkpoint instead of starting over.
    expect(node.stats.balanceTimestamps.length).to.be.at.most(61);
    expect(await store.getCheckpoint(record.snapshotId)).to.equal(null);
  });

  it('completes exactly through injected 429s, 5xx and cut-off bodies', async () => {
    const reference = await runSnapshot((await store.create({ tokenId, network: 'testnet' })).snapshotId, deps());
    node.setFaults({ throttleEveryNth: 4, failEveryNth: 7, failStatus: 503, cutEveryNth: 11, xRetryIn: '5ms' });
    node.resetStats();
    try {
      const done = await runSnapshot((await store.create({ tokenId, network: 'testnet' })).snapshotId, deps());
      expect(done).to.include({ status: 'completed', cid: reference.cid, holders: holderCount });
      expect(node.stats.tooManyRequests).to.be.greaterThan(0);
      expect(node.stats.faultsInjected).to.be.greaterThan(0);
    } finally {
      node.setFaults({});
    }
  });

  it('snapshots a token with no holders to just the header', async () => {
    const record = await store.create({ tokenId: '0.0.5', network: 'testnet' });
    const done = await runSnapshot(record.snapshotId, deps());
    expect(done).to.include({ status: 'completed', holders: 0, totalBalance: '0' });
    const text = await collect(ipfs.cat(done.cid!));
    expect(text.split('\n')).to.have.length(2);
    expect(JSON.parse(text.split('\n')[0]!)).to.include({ tokenId: '0.0.5', symbol: 'EMPTY' });
  });

  it('fails with HEDERA_TOKEN_NOT_FOUND for an unknown token', async () => {
    const record = await store.create({ tokenId: '0.0.999', network: 'testnet' });
    let caught: unknown;
    try { await runSnapshot(record.snapshotId, deps()); } catch (error) { caught = error; }
    expect(caught).to.have.property('code', 'HEDERA_TOKEN_NOT_FOUND');
  });

  it('keeps the bytes of a fungible snapshot without filters: the CID the format had before filters, NFTs and Merkle trees', async () => {
    // Computed by the pipeline of commit 557fa25, before this round's extensions, for exactly this token.
    const pinned = { cid: 'bafkreiectsa5nrqszoenjbws6vixio7muaucuwogfne7k3x4fuwyt7r4da', bytes: 56_057 };
    const pinRig = await startPipelineRig({ tokens: [{ tokenId: '0.0.515151', name: 'Pinned "Token"', symbol: 'PIN', decimals: 6, totalSupply: 10n ** 30n,
      holders: generateHolders({ count: 1000, seed: 42, zeroBalances: 5 }) }] });
    try {
      const record = await pinRig.store.create({ tokenId: '0.0.515151', network: 'testnet' });
      const done = await runSnapshot(record.snapshotId, pinRig.deps());
      expect({ cid: done.cid, bytes: done.bytes }).to.deep.equal(pinned);
      expect(done.filters).to.equal(null);
      expect(done.merkle).to.include({ leaves: 1000 });
    } finally {
      await pinRig.close();
    }
  });
});
