import { expect } from 'chai';
import {
  compareEntityIds,
  entityChecksum,
  hip15Checksum,
  isCanonicalEntityId,
  parseEntityId,
  withChecksum,
} from '../../src/snapshots/hedera-ids.ts';
import { EntityIdChecksumError, InvalidEntityIdError } from '../../src/snapshots/errors.ts';

// Test vectors of the published HIP-15 (with the final permutation).
const mainnetVectors = [
  '0.0.1-dfkxr', '0.0.4-cjcuq', '0.0.5-ktach', '0.0.6-tcxjy', '0.0.12-uuuup',
  '0.0.123-vfmkw', '0.0.1234567890-zbhlt', '12.345.6789-aoyyt', '1.23.456-adpbr',
];
const ledgerA1ff01Vectors = [
  '0.0.1-xzlgq', '0.0.4-xdddp', '0.0.5-fnalg', '0.0.6-nwxsx', '0.0.12-povdo',
  '0.0.123-pzmtv', '0.0.1234567890-tvhus', '12.345.6789-vizhs', '1.23.456-uxpkq',
];
// The inputs HIP-15 says must be rejected (its examples use the 0.0.123 address).
const invalidInputs = [
  '0.0.123-abcde', '0.00.123', '0.0.0123-vfmkw', '0.0.123-VFMKW', '0.0.123-vFmKw', '0.0.123#vfmkw',
  '0.0.123vfmkw', '0.0.123 - vfmkw', '0.123', '0.0.123.', '0.0.123-vf', '0.0.123-vfm-kw',
  '0.0.123-vfmkwxxxx', '', ' 0.0.1', '0.0.1 ', '-1.0.1', '0.0.1e3', '0x1', '0.0.0x000000000000000000000000000000000000046F',
];

function split(vector: string): [string, string] {
  const dash = vector.indexOf('-');
  return [vector.slice(0, dash), vector.slice(dash + 1)];
}

describe('hedera-ids', () => {
  describe('HIP-15 checksum', () => {
    it('matches every published vector for ledger id 0x00 (mainnet)', () => {
      for (const vector of mainnetVectors) {
        const [id, checksum] = split(vector);
        expect(entityChecksum(id, 'mainnet'), vector).to.equal(checksum);
      }
    });

    it('matches every published vector for ledger id 0xa1ff01', () => {
      for (const vector of ledgerA1ff01Vectors) {
        const [id, checksum] = split(vector);
        expect(hip15Checksum(id, Uint8Array.of(0xa1, 0xff, 0x01)), vector).to.equal(checksum);
      }
    });

    it('gives the SDKs\' checksums for 0.0.123 on testnet and previewnet', () => {
      expect(withChecksum('0.0.123', 'testnet')).to.equal('0.0.123-esxsf');
      expect(withChecksum('0.0.123', 'previewnet')).to.equal('0.0.123-ogizo');
    });
  });

  describe('parseEntityId', () => {
    it('returns bigint parts and the canonical id', () => {
      const entity = parseEntityId('12.345.6789');
      expect(entity).to.deep.equal({ shard: 12n, realm: 345n, num: 6789n, id: '12.345.6789' });
    });

    it('keeps parts above 2^53 exact and rejects parts above 2^63 - 1', () => {
      expect(parseEntityId('0.0.9223372036854775807').num).to.equal(9223372036854775807n);
      expect(() => parseEntityId('0.0.9223372036854775808')).to.throw(InvalidEntityIdError);
    });

    it('accepts a checksum valid on the configured network and strips it', () => {
      expect(parseEntityId('0.0.123-vfmkw', { network: 'mainnet' }).id).to.equal('0.0.123');
      expect(parseEntityId('0.0.123-esxsf', { network: 'testnet' }).id).to.equal('0.0.123');
    });

    it('rejects a checksum of another network', () => {
      expect(() => parseEntityId('0.0.123-vfmkw', { network: 'testnet' })).to.throw(EntityIdChecksumError, /testnet/);
    });

    it('rejects any checksum when no network is configured, with a clear message', () => {
      expect(() => parseEntityId('0.0.123-vfmkw')).to.throw(EntityIdChecksumError, /no Hedera network/);
      expect(() => parseEntityId('0.0.123-vfmkw', { network: null })).to.throw(EntityIdChecksumError);
      expect(parseEntityId('0.0.123', { network: null }).id).to.equal('0.0.123');
    });

    it('rejects every malformed input HIP-15 lists, and other junk', () => {
      for (const input of invalidInputs) {
        expect(() => parseEntityId(input, { network: 'mainnet' }), input).to.throw(Error);
      }
      expect(() => parseEntityId('1'.repeat(200))).to.throw(InvalidEntityIdError);
      expect(() => parseEntityId(42 as unknown as string)).to.throw(InvalidEntityIdError);
    });

    it('isCanonicalEntityId accepts only the checksum-free canonical form', () => {
      expect(isCanonicalEntityId('0.0.1234')).to.equal(true);
      expect(isCanonicalEntityId('0.0.1234-abcde')).to.equal(false);
      expect(isCanonicalEntityId('0.0.01234')).to.equal(false);
      expect(isCanonicalEntityId('0.0.99999999999999999999')).to.equal(false);
    });
  });

  describe('compareEntityIds', () => {
    it('sorts by shard, realm, num numerically (not as strings)', () => {
      const ids = ['0.0.10', '1.0.0', '0.0.9', '0.1.2', '0.0.100', '0.1.10', '0.0.18446744073709551'];
      const sorted = ids.map((id) => parseEntityId(id)).sort(compareEntityIds).map((e) => e.id);
      expect(sorted).to.deep.equal(['0.0.9', '0.0.10', '0.0.100', '0.0.18446744073709551', '0.1.2', '0.1.10', '1.0.0']);
      expect(compareEntityIds(parseEntityId('0.0.5'), parseEntityId('0.0.5'))).to.equal(0);
    });
  });
});
