// Tally's own HIP-15 code (src/snapshots/hedera-ids.ts) against @hashgraph/sdk's, for many ids on
// all three networks: the same checksum for every id, the same verdict on every wrong one. The
// SDK is the reference Hedera ships; agreeing with it over random ids (any shard, realm and num up
// to 2^63 - 1) is a stronger check than the handful of published vectors.
import { expect } from 'chai';
import * as sdk from '@hashgraph/sdk';
import { entityChecksum, hederaNetworks, parseEntityId, withChecksum } from '../../src/snapshots/hedera-ids.ts';
import { seededRandom } from '../../testkit/random.ts';

const idsPerNetwork = 2_000;

function randomIds(seed: number): string[] {
  const random = seededRandom(seed);
  const part = (i: number) => (i % 3 === 0 ? random() % 10n : i % 3 === 1 ? random() % 100_000n : random() % (2n ** 63n));
  return Array.from({ length: idsPerNetwork }, (_, i) => `${i % 5 === 0 ? part(i) : 0n}.${i % 7 === 0 ? part(i + 1) : 0n}.${part(i + 2)}`);
}

describe('HIP-15 checksums: Tally against @hashgraph/sdk', () => {
  for (const [n, network] of hederaNetworks.entries()) {
    it(`agrees on ${idsPerNetwork} ids and their wrong checksums on ${network}`, () => {
      const client = sdk.Client.forName(network);
      try {
        expect(client.ledgerId?.toString()).to.equal(network);
        for (const id of [...randomIds(n + 1), '0.0.0', '0.0.1', '0.0.123', '9223372036854775807.9223372036854775807.9223372036854775807']) {
          const sdkForm = sdk.AccountId.fromString(id).toStringWithChecksum(client);
          expect(withChecksum(id, network), id).to.equal(sdkForm);
          expect(sdk.TokenId.fromString(id).toStringWithChecksum(client), id).to.equal(sdkForm);
          // The SDK's validateChecksum throws exactly when Tally's parser refuses. (Through TokenId:
          // AccountId.fromString drops the checksum, so an AccountId never has one to validate.)
          const good = entityChecksum(id, network);
          const wrong = good.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
          expect(() => sdk.TokenId.fromString(`${id}-${good}`).validateChecksum(client), `${id}-${good}`).to.not.throw();
          expect(() => sdk.TokenId.fromString(`${id}-${wrong}`).validateChecksum(client), `${id}-${wrong}`).to.throw();
          expect(parseEntityId(`${id}-${good}`, { network }).id).to.equal(id);
          expect(() => parseEntityId(`${id}-${wrong}`, { network })).to.throw().with.property('code', 'INVALID_CHECKSUM');
        }
      } finally {
        client.close();
      }
    });
  }

  it('differs between networks as the SDK does (the ledger id enters the checksum)', () => {
    const clients = hederaNetworks.map((network) => sdk.Client.forName(network));
    try {
      for (const id of randomIds(9).slice(0, 200)) {
        const ours = hederaNetworks.map((network) => entityChecksum(id, network));
        const theirs = clients.map((client) => sdk.AccountId.fromString(id).toStringWithChecksum(client).split('-')[1]);
        expect(ours, id).to.deep.equal(theirs);
      }
    } finally {
      for (const client of clients) client.close();
    }
  });
});
