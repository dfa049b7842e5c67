// The mirror client's NFT listing (nftPages) against the local mirror node: every serial in
// ascending order across pages, one account's serials, burned ones flagged, and the links and
// rows it refuses.
import { expect } from 'chai';
import { createMirrorClient, type MirrorClient, type Nft } from '../../../src/snapshots/mirror/client.ts';
import { MirrorProtocolError } from '../../../src/snapshots/errors.ts';
import { rejectionOf } from '../../../testkit/wait.ts';
import { type FakeMirrorNode, type FakeNft, nftHolders, startMirrorNode } from '../../../testkit/mirror-node.ts';

const tokenId = '0.0.6006';
const nfts: FakeNft[] = Array.from({ length: 250 }, (_, i) => ({ serial: i + 1, account: `0.0.${100 + (i % 7)}`, ...(i === 41 ? { deleted: true } : {}) }));

describe('mirror client nftPages', function () {
  this.timeout(20_000);
  let node: FakeMirrorNode;
  let client: MirrorClient;

  before(async () => {
    node = await startMirrorNode({ tokens: [{ tokenId, name: 'N', symbol: 'N', decimals: 0, totalSupply: 249n, type: 'NON_FUNGIBLE_UNIQUE', nfts, holders: nftHolders(nfts) }] });
    client = createMirrorClient({ baseUrl: node.url, rps: 0, requestTimeoutMs: 2_000, maxAttempts: 2, retryBaseDelayMs: 5, retryMaxDelayMs: 20, network: 'testnet' });
  });
  after(async () => { await client.close(); await node.close(); });

  async function all(options: { accountId?: string } = {}): Promise<Nft[]> {
    const out: Nft[] = [];
    for await (const page of client.nftPages!(tokenId, options)) out.push(...page.nfts);
    return out;
  }

  it('lists every serial ascending over pages of 100, burned ones flagged', async () => {
    node.resetStats();
    const listed = await all();
    expect(listed.map((n) => n.serial)).to.deep.equal(nfts.map((n) => n.serial));
    expect(listed.filter((n) => n.deleted).map((n) => n.serial)).to.deep.equal([42]);
    expect(listed[0]).to.deep.equal({ serial: 1, account: '0.0.100', deleted: false });
    expect(node.stats.byPath['/api/v1/tokens/{id}/nfts']).to.equal(3);
  });

  it("lists one account's serials with account.id", async () => {
    const mine = await all({ accountId: '0.0.103' });
    expect(mine.map((n) => n.serial)).to.deep.equal(nfts.filter((n) => n.account === '0.0.103').map((n) => n.serial));
  });

  it('refuses a next link that leaves the origin and rows out of order', async () => {
    node.setFaults({ rewriteBody: (body, path) => (path.endsWith('/nfts') ? body.replace(/"next":"[^"]*"/, '"next":"http://203.0.113.9/api/v1/tokens/0.0.6006/nfts?order=asc&limit=100&serialnumber=gt:100"') : body) });
    expect(await rejectionOf(all())).to.be.instanceOf(MirrorProtocolError).and.have.property('message').that.matches(/leaves/);
    node.setFaults({ rewriteBody: (body, path) => (path.endsWith('/nfts') ? body.replace('"serial_number":2,', '"serial_number":1,') : body) });
    expect(await rejectionOf(all())).to.be.instanceOf(MirrorProtocolError).and.have.property('message').that.matches(/out of order/);
    node.setFaults({});
  });
});
