// A diff of two contents is computed once per process (src/snapshots/products.ts): repeated and
// concurrent requests for the same pair read the two snapshots once, a failed one is not kept.
// Real Helia store; the metadata store is the one method diffSnapshots reads (records by id).
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIpfsStore, type IpfsStore } from '../../src/snapshots/ipfs-store.ts';
import { diffSnapshots, type ProductDeps } from '../../src/snapshots/products.ts';
import { encodeSnapshot } from '../../src/snapshots/snapshot-format.ts';
import type { SnapshotRecord, SnapshotStore } from '../../src/snapshots/store/metadata-store.ts';

const header = { tokenId: '0.0.7001', network: 'testnet', name: 'Diff', symbol: 'DIF', decimals: 0, totalSupply: '1000', type: 'FUNGIBLE_COMMON' };

describe('snapshot diffs, remembered per pair of contents', function () {
  this.timeout(20_000);
  let dir: string;
  let ipfs: IpfsStore;
  const records = new Map<string, SnapshotRecord>();
  let cats = 0;
  let deps: ProductDeps;

  async function add(snapshotId: string, timestamp: string, holders: Array<[string, string]>): Promise<void> {
    const stored = await ipfs.addBytes(encodeSnapshot({ ...header, timestamp }, [holders.map(([account, balance]) => ({ account, balance }))]));
    records.set(snapshotId, { snapshotId, tokenId: header.tokenId, network: 'testnet', status: 'completed', cid: stored.cid, consensusTimestamp: timestamp, combination: null } as SnapshotRecord);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tally-diff-cache-'));
    ipfs = await openIpfsStore({ dir });
    await add('a', '1716885861.000000001', [['0.0.1', '5'], ['0.0.2', '7']]);
    await add('b', '1716885862.000000001', [['0.0.2', '8'], ['0.0.3', '1']]);
    const counted: IpfsStore = { ...ipfs, cat: (cid, options) => { cats += 1; return ipfs.cat(cid, options); } };
    const store = { get: async (id: string) => records.get(id) ?? null } as unknown as SnapshotStore;
    deps = { store, ipfs: counted };
  });

  after(async () => {
    await ipfs.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads both snapshots once for repeated and concurrent requests of one pair, and again for another pair', async () => {
    const [one, two] = await Promise.all([diffSnapshots(deps, 'a', 'b'), diffSnapshots(deps, 'a', 'b')]);
    const three = await diffSnapshots(deps, 'a', 'b');
    expect(one).to.deep.equal({ cid: one.cid, bytes: one.bytes, gained: 1, lost: 1, changed: 1 });
    expect(two).to.deep.equal(one);
    expect(three).to.deep.equal(one);
    expect(cats).to.equal(2);
    const back = await diffSnapshots(deps, 'b', 'a');
    expect(back).to.include({ gained: 1, lost: 1, changed: 1 });
    expect(back.cid).to.not.equal(one.cid);
    expect(cats).to.equal(4);
  });

  it('does not remember a failure: the same pair is tried again', async () => {
    records.set('gone', { ...records.get('a')!, snapshotId: 'gone', cid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy' });
    const before = cats;
    await diffSnapshots(deps, 'gone', 'b').then(() => expect.fail('a diff of missing content'), (error: { code?: string }) => expect(error.code).to.equal('CONTENT_NOT_FOUND'));
    await diffSnapshots(deps, 'gone', 'b').catch(() => {});
    expect(cats - before).to.equal(2); // each attempt reads the missing side (and stops there)
  });
});
