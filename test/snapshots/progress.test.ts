// Snapshot progress (issue 13 point 7): the percentage combines the share of the supply fetched
// with the share of the account-id space passed, so one holder owning most of the supply does not
// pin it at 99% for the run; it never goes backwards and stays below 100 until completion. Real
// parts: the local mirror node over HTTP, the Redis metadata store, the offline Helia importer.
import { expect } from 'chai';
import type { FakeHolder, FakeMirrorNode } from '../../testkit/mirror-node.ts';
import type { SnapshotStore } from '../../src/snapshots/store/metadata-store.ts';
import { runningProgress, runSnapshot, type PipelineDeps, type SnapshotRunStatus } from '../../src/snapshots/pipeline.ts';
import { startPipelineRig, type PipelineRig } from './pipeline-rig.ts';

const whaleId = '0.0.700001';
const mintedId = '0.0.700002';
const holderCount = 4_000;

/** 4,000 holders at 0.0.1001.. in id order; the first owns 99.9% of the supply (a treasury). */
function whaleHolders(): FakeHolder[] {
  const rest: FakeHolder[] = Array.from({ length: holderCount - 1 }, (_, i) => ({ account: `0.0.${1002 + i}`, balance: 1_000n + BigInt(i) }));
  const restSum = rest.reduce((s, h) => s + h.balance, 0n);
  return [{ account: '0.0.1001', balance: restSum * 999n }, ...rest];
}

describe('snapshot progress', function () {
  this.timeout(60_000);
  const holders = whaleHolders();
  const supply = holders.reduce((s, h) => s + h.balance, 0n);
  let rig: PipelineRig;
  let node: FakeMirrorNode;
  let store: SnapshotStore;
  const deps = (overrides: Partial<PipelineDeps> = {}) => rig.deps(overrides);

  before(async () => {
    rig = await startPipelineRig({ tokens: [
      { tokenId: whaleId, name: 'Whale', symbol: 'WHL', decimals: 0, totalSupply: supply, holders },
      { tokenId: mintedId, name: 'Minted', symbol: 'MNT', decimals: 0, totalSupply: supply, holders },
    ] });
    ({ node, store } = rig);
  });
  after(() => rig.close());

  it('does not sit at 99% when one holder owns most of the supply, and never goes backwards', async () => {
    node.resetStats();
    const statuses: SnapshotRunStatus[] = [];
    const reported: number[] = [];
    const record = await store.create({ tokenId: whaleId, network: 'testnet' });
    const done = await runSnapshot(record.snapshotId, deps({
      onPage: (status) => { statuses.push(status); },
      onProgress: (progress) => { reported.push(progress); },
    }));
    expect(done).to.include({ status: 'completed', progress: 100, holders: holderCount });
    const pages = statuses.length;
    expect(pages).to.be.at.least(holderCount / 100);
    expect(statuses.map((s) => s.pages)).to.deep.equal(Array.from({ length: pages }, (_, i) => i + 1));
    expect(statuses.at(-1)!.holders).to.equal(holderCount);
    // Half-way through the pages the bar says about half way plus the supply's head start, not 99.
    const halfway = statuses[Math.floor(pages / 2)]!.progress;
    expect(halfway).to.be.within(50, 80);
    expect(statuses.filter((s) => s.progress >= 99).length).to.be.below(pages / 10);
    // docs/socket-io.md: 0..99 while running, each value once, ascending.
    expect(reported).to.deep.equal([...new Set(reported)].sort((a, b) => a - b));
    expect(Math.max(...reported)).to.be.at.most(99);
    expect(reported.length).to.be.at.least(30);
    // The highest account id is one request per run.
    expect(node.stats.requestLog.filter((r) => r.path === '/api/v1/accounts').map((r) => r.query)).to.deep.equal(['?order=desc&limit=1']);
  });

  it('divides by the supply at the snapshot timestamp, not by today\'s', async () => {
    const reported: number[] = [];
    node.updateToken(mintedId, '1716885900.000000000', { totalSupply: supply * 100n }); // minted after the snapshot
    const record = await store.create({ tokenId: mintedId, network: 'testnet' });
    await runSnapshot(record.snapshotId, deps({ onProgress: (progress) => { reported.push(progress); } }));
    // With today's supply the supply share would end at 1%, the mean near 50.
    expect(reported.at(-1)).to.equal(99);
  });

  it('combines the supply share and the account-id share (pure)', () => {
    const at = (totalBalance: bigint, lastAccount: string | null, highestAccount: string | null, totalSupply = 1000n) =>
      runningProgress({ totalBalance, totalSupply, lastAccount, highestAccount });
    expect(at(999n, '0.0.10', '0.0.1000')).to.equal(50); // (99.9 + 1) / 2
    expect(at(500n, '0.0.500', '0.0.1000')).to.equal(50);
    expect(at(1000n, '0.0.1000', '0.0.1000')).to.equal(99); // capped below 100 until stored
    expect(at(300n, null, null)).to.equal(30); // no highest account: the supply share alone
    expect(at(0n, '0.0.250', '0.0.1000', 0n)).to.equal(25); // no supply: the id share alone
    expect(at(0n, null, null, 0n)).to.equal(0);
    expect(at(0n, '0.0.5000', '0.0.1000')).to.equal(50); // an account past the highest counts as the end
    expect(at(0n, '0.0.9', '1.0.1')).to.equal(0); // shard and realm weigh more than any num
  });
});
