// What completed snapshots serve, end to end over REST and the CLI (src/snapshots/products.ts):
// the Merkle root and a proof for every holder of a 10,000-holder snapshot, each checked by an
// independent keccak256 verifier (test/snapshots/merkle.test.ts), not by the tree library.
import { expect } from 'chai';
import { generateHolders } from '../../testkit/mirror-node.ts';
import { longZeroAddress } from '../../src/snapshots/merkle.ts';
import { startSnapshotApi, type SnapshotApi } from './api-rig.ts';
import { verifyIndependently } from './merkle-verifier.ts';

const bigToken = '0.0.880001';
const emptyToken = '0.0.880002';

describe('snapshot products: Merkle roots and proofs', function () {
  this.timeout(180_000);
  const holders = generateHolders({ count: 10_000, seed: 21, zeroBalances: 10 });
  let rig: SnapshotApi;
  let big: any;

  before(async () => {
    rig = await startSnapshotApi({ tokens: [
      { tokenId: bigToken, name: 'Airdrop', symbol: 'AIR', decimals: 4, totalSupply: holders.reduce((s, h) => s + h.balance, 0n), holders },
      { tokenId: emptyToken, name: 'Empty', symbol: 'NONE', decimals: 0, totalSupply: 1n, holders: [] },
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
});
