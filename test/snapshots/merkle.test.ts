// The Merkle tree of src/snapshots/merkle.ts against OpenZeppelin's own StandardMerkleTree: the
// same root, the same dump (which the library loads), the same proofs; and every proof served
// from the dump by range reads checked with keccak256 alone (an independent verifier).
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { buildMerkleTree, keccak256Into, longZeroAddress, proveFromDump } from '../../src/snapshots/merkle.ts';
import { hex, sortedHolders, verifyIndependently } from './merkle-verifier.ts';

async function dumpBytes(tree: { dump(): AsyncGenerator<Uint8Array> }): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of tree.dump()) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('snapshot Merkle trees', function () {
  this.timeout(60_000);

  it('hashes with keccak256 (published vectors, and the full hasher on every input length up to a block)', () => {
    const out = Buffer.alloc(40, 0xee);
    keccak256Into(new Uint8Array(0), out, 4);
    expect(out.subarray(4, 36).toString('hex')).to.equal('c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
    expect([out[3], out[36]]).to.deep.equal([0xee, 0xee]); // nothing written outside the 32 bytes
    keccak256Into(Buffer.from('abc'), out, 0);
    expect(out.subarray(0, 32).toString('hex')).to.equal('4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45');
    for (let length = 0; length < 136; length++) {
      const input = randomBytes(length);
      keccak256Into(input, out, 0);
      expect(out.subarray(0, 32).toString('hex'), `${length} bytes`).to.equal(Buffer.from(keccak_256(input)).toString('hex'));
    }
    expect(() => keccak256Into(new Uint8Array(136), out, 0)).to.throw(RangeError);
  });

  it('encodes an account as its long-zero EVM address: shard 4 bytes, realm 8, num 8', () => {
    expect(longZeroAddress('0.0.1234')).to.equal('0x00000000000000000000000000000000000004d2');
    expect(longZeroAddress('1.2.3')).to.equal('0x0000000100000000000000020000000000000003');
    expect(longZeroAddress('4294967295.9223372036854775807.1')).to.equal('0xffffffff7fffffffffffffff0000000000000001');
    expect(() => longZeroAddress('4294967296.0.1')).to.throw(/long-zero/);
  });

  for (const count of [1, 2, 3, 7, 300]) {
    it(`builds the tree StandardMerkleTree.of builds, and the dump it loads (${count} holders)`, async () => {
      const holders = sortedHolders(count, count);
      const built = await buildMerkleTree(async function* () { yield* holders; }, holders.length);
      const values = holders.map((h) => [longZeroAddress(h.account), h.balance]);
      const reference = StandardMerkleTree.of(values, ['address', 'uint256']);
      expect(built!.root).to.equal(reference.root);
      const dump = await dumpBytes(built!);
      expect(dump.toString()).to.equal(JSON.stringify(reference.dump()));
      const copied: Buffer[] = [];
      for await (const chunk of built!.dump({ reuseChunks: true })) copied.push(Buffer.from(chunk)); // a consumer that copies, as addBytes does
      expect(Buffer.concat(copied).equals(dump)).to.equal(true);
      const loaded = StandardMerkleTree.load(JSON.parse(dump.toString()));
      expect(loaded.root).to.equal(reference.root);

      const read = async (offset: number, length: number) => dump.subarray(offset, offset + length);
      for (const [i, holder] of holders.entries()) {
        const proof = await proveFromDump(read, { leaves: count, bytes: dump.length }, holder.account);
        expect(proof).to.deep.equal({ account: holder.account, address: values[i]![0], amount: holder.balance, proof: reference.getProof(i) });
        expect(verifyIndependently(reference.root, proof!.address, proof!.amount, proof!.proof)).to.equal(true);
      }
      expect(await proveFromDump(read, { leaves: count, bytes: dump.length }, '0.0.1')).to.equal(null);
      expect(await proveFromDump(read, { leaves: count, bytes: dump.length }, '999.0.1')).to.equal(null);
    });
  }

  it('a wrong amount or a changed sibling fails the independent verifier', async () => {
    const holders = sortedHolders(50, 9);
    const built = await buildMerkleTree(async function* () { yield* holders; }, holders.length);
    const dump = await dumpBytes(built!);
    const proof = (await proveFromDump(async (o, l) => dump.subarray(o, o + l), { leaves: 50, bytes: dump.length }, holders[10]!.account))!;
    expect(verifyIndependently(built!.root, proof.address, proof.amount, proof.proof)).to.equal(true);
    expect(verifyIndependently(built!.root, proof.address, (BigInt(proof.amount) + 1n).toString(), proof.proof)).to.equal(false);
    expect(verifyIndependently(built!.root, proof.address, proof.amount, [hex(new Uint8Array(32)), ...proof.proof.slice(1)])).to.equal(false);
  });

  it('has no tree for no holders, and refuses holders that do not match the count', async () => {
    expect(await buildMerkleTree(async function* () {}, 0)).to.equal(null);
    const holders = sortedHolders(3, 1);
    let error: unknown;
    await buildMerkleTree(async function* () { yield* holders; }, 2).catch((e: unknown) => { error = e; });
    expect((error as Error).message).to.match(/more than the 2 holders/);
  });
});
