// A local mirror node holding the demo tokens of the README's "Airdrops and votes" examples, so
// that they run without network access: `node testkit/demo-mirror-node.ts [port]` (default 39157)
// serves until killed. Token 0.0.7001 (fungible) has two balance snapshots, 0.0.7002 is an NFT
// with a burned serial, 0.0.7003 is a second fungible token for combinations.
import { nftHolders, startMirrorNode, type FakeNft } from './mirror-node.ts';

export const demoFirstTimestamp = '1716885861.254421003';
export const demoSecondTimestamp = '1716886761.000000001';

const badges: FakeNft[] = [
  { serial: 1, account: '0.0.7101' }, { serial: 2, account: '0.0.7103' }, { serial: 3, account: '0.0.7103' }, { serial: 4, account: '0.0.7101' },
  { serial: 5, account: '0.0.7103' }, { serial: 6, account: '0.0.7105' }, { serial: 7, account: '0.0.7105', deleted: true },
];

export async function startDemoMirrorNode(port = 0) {
  const node = await startMirrorNode({ port, snapshotTimestamp: demoFirstTimestamp, tokens: [
    { tokenId: '0.0.7001', name: 'Vote', symbol: 'VOTE', decimals: 2, totalSupply: 1_002_849n, treasury: '0.0.7100', holders: [
      { account: '0.0.7100', balance: 1_000_000n }, { account: '0.0.7101', balance: 150n }, { account: '0.0.7102', balance: 99n },
      { account: '0.0.7103', balance: 2_500n }, { account: '0.0.7104', balance: 100n },
    ] },
    { tokenId: '0.0.7002', name: 'Badge', symbol: 'BADGE', decimals: 0, totalSupply: 6n, type: 'NON_FUNGIBLE_UNIQUE', nfts: badges, holders: nftHolders(badges) },
    { tokenId: '0.0.7003', name: 'Pass', symbol: 'PASS', decimals: 0, totalSupply: 13n, holders: [
      { account: '0.0.7101', balance: 5n }, { account: '0.0.7102', balance: 7n }, { account: '0.0.7106', balance: 1n },
    ] },
  ] });
  // Later, 0.0.7102 sells its 99 to 0.0.7105 and 0.0.7101 buys 50 from the treasury.
  node.publishSnapshot(demoSecondTimestamp, { '0.0.7001': [
    { account: '0.0.7100', balance: 999_950n }, { account: '0.0.7101', balance: 200n }, { account: '0.0.7103', balance: 2_500n },
    { account: '0.0.7104', balance: 100n }, { account: '0.0.7105', balance: 99n },
  ] });
  return node;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const node = await startDemoMirrorNode(Number(process.argv[2] ?? 39157));
  process.stdout.write(`demo mirror node on ${node.url}\n`);
  process.on('SIGTERM', () => { void node.close().then(() => process.exit(0)); });
}
