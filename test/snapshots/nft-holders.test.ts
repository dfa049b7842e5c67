// NFT snapshots (src/snapshots/nft-holders.ts through the pipeline): every holder's serials, burned
// ones left out, checked against the balances at one timestamp, also while serials move during the
// listing; against the local mirror node's /tokens/{id}/nfts and /balances.
import { expect } from 'chai';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { type FakeNft, nftHolders } from '../../testkit/mirror-node.ts';
import { runSnapshot } from '../../src/snapshots/pipeline.ts';
import { ndjsonToCsv } from '../../src/snapshots/snapshot-format.ts';
import { NftSerialsUnsettledError } from '../../src/snapshots/errors.ts';
import { compareEntityIds, parseEntityId } from '../../src/snapshots/hedera-ids.ts';
import { collect, startPipelineRig, type PipelineRig } from './pipeline-rig.ts';

const tokenId = '0.0.990001';
const owners = Array.from({ length: 23 }, (_, i) => `0.0.${7000 + i * 13}`);
/** 350 serials (four pages of 100), owner i % 23 with a skew; serials 11, 12 and 200 burned. */
function initialNfts(): FakeNft[] {
  return Array.from({ length: 350 }, (_, i) => ({ serial: i + 1, account: owners[(i * i) % owners.length]!, ...([11, 12, 200].includes(i + 1) ? { deleted: true } : {}) }));
}

/** The lines a snapshot of these serials must have: owners in account order, serials ascending. */
function expectedLines(nfts: FakeNft[]): string[] {
  const byOwner = new Map<string, number[]>();
  for (const nft of nfts) if (!nft.deleted) byOwner.set(nft.account, [...(byOwner.get(nft.account) ?? []), nft.serial]);
  return [...byOwner].sort((a, b) => compareEntityIds(parseEntityId(a[0]), parseEntityId(b[0])))
    .map(([account, serials]) => `{"account":"${account}","balance":"${serials.length}","serials":[${serials.sort((x, y) => x - y).join(',')}]}`);
}

describe('NFT snapshots', function () {
  this.timeout(60_000);
  let rig: PipelineRig;
  let nfts: FakeNft[];

  beforeEach(async () => {
    nfts = initialNfts();
    rig = await startPipelineRig({ tokens: [{ tokenId, name: 'Pixels', symbol: 'PIX', decimals: 0, totalSupply: 347n, type: 'NON_FUNGIBLE_UNIQUE', nfts, holders: nftHolders(nfts) }] });
  });
  afterEach(() => rig.close());

  async function snapshot(options: { timestamp?: string; filters?: Record<string, unknown> } = {}) {
    const record = await rig.store.create({ tokenId, network: 'testnet', ...(options.timestamp ? { requestedTimestamp: options.timestamp } : {}), ...(options.filters ? { filters: options.filters } : {}) });
    const done = await runSnapshot(record.snapshotId, rig.deps());
    const lines = (await collect(rig.ipfs.cat(done.cid!))).split('\n').slice(0, -1);
    return { done, header: JSON.parse(lines[0]!), rows: lines.slice(1) };
  }

  it('lists every holder with its serials, burned serials left out, and gives the same CID twice', async () => {
    const { done, header, rows } = await snapshot();
    expect(header).to.include({ tokenId, type: 'NON_FUNGIBLE_UNIQUE', totalSupply: '347' });
    expect(rows).to.deep.equal(expectedLines(nfts));
    expect(rows.join('\n')).to.not.match(/[[,](11|12|200)[\],]/);
    expect(done).to.include({ holders: rows.length, totalBalance: '347' });
    expect(rows.length).to.be.greaterThan(5);
    expect(done.merkle!.leaves).to.equal(rows.length);
    const again = await snapshot();
    expect(again.done.cid).to.equal(done.cid);
  });

  it('settles serials that move while the listing runs: re-reads the holders whose counts moved, and answers the balances after it', async () => {
    const later = '1716886000.000000001';
    rig.node.setFaults({ onNftsPage: (n) => {
      if (n !== 3) return; // pages 1 and 2 (serials 1..200) are listed by now
      rig.node.transferNft(tokenId, 5, owners[3]!); // already listed under its old owner
      rig.node.transferNft(tokenId, 340, owners[4]!); // not listed yet: the listing sees the new owner
      rig.node.burnNft(tokenId, 7); // already listed
      rig.node.publishNftSnapshot(later);
    } });
    const moved = new Map([[5, owners[3]!], [340, owners[4]!]]);
    const after = nfts.map((n) => (n.serial === 7 ? { ...n, deleted: true } : moved.has(n.serial) ? { ...n, account: moved.get(n.serial)! } : n));
    const rereadBefore = rig.node.stats.requestLog.filter((r) => r.path.endsWith('/nfts') && r.query.includes('account.id')).length;
    const { done, header, rows } = await snapshot();
    expect(rows).to.deep.equal(expectedLines(after));
    expect(header.timestamp).to.equal(later);
    expect(done).to.include({ consensusTimestamp: later, totalBalance: '346' });
    const reread = rig.node.stats.requestLog.filter((r) => r.path.endsWith('/nfts') && r.query.includes('account.id')).map((r) => new URLSearchParams(r.query).get('account.id'));
    expect(reread.length - rereadBefore).to.be.greaterThan(0);
    const ownerOf = (serial: number) => nfts.find((n) => n.serial === serial)!.account;
    expect(new Set(reread)).to.include.members([ownerOf(5), owners[3]!, ownerOf(7)]);
  });

  it('fails with NFT_SERIALS_UNSETTLED for a timestamp in the past whose counts the serials no longer match', async () => {
    const past = rig.node.latestSnapshotTimestamp();
    rig.node.transferNft(tokenId, 1, owners[9]!);
    rig.node.publishNftSnapshot('1716886000.000000001');
    let error: unknown;
    await snapshot({ timestamp: past }).catch((e: unknown) => { error = e; });
    expect(error).to.be.instanceOf(NftSerialsUnsettledError);
    expect(error).to.include({ code: 'NFT_SERIALS_UNSETTLED', retryable: true });
  });

  it('keeps holders with at least minCount serials, recorded in line 1', async () => {
    const all = expectedLines(nfts);
    const counts = all.map((line) => Number(JSON.parse(line).balance)).sort((a, b) => a - b);
    const minCount = counts[Math.floor(counts.length / 2)]!;
    const { header, rows } = await snapshot({ filters: { minCount } });
    expect(header.filters).to.deep.equal({ minCount });
    expect(rows).to.deep.equal(all.filter((line) => Number(JSON.parse(line).balance) >= minCount));
    expect(rows.length).to.be.within(1, all.length - 1);
  });

  it('renders as CSV with the serials in a third column', async () => {
    const { done } = await snapshot();
    const csv = await text(Readable.from(rig.ipfs.cat(done.cid!)).pipe(ndjsonToCsv()));
    const [head, first] = csv.split('\n');
    expect(head).to.equal('account,balance,serials');
    const line = JSON.parse(expectedLines(nfts)[0]!);
    expect(first).to.equal(`${line.account},${line.balance},${line.serials.join(' ')}`);
  });
});
