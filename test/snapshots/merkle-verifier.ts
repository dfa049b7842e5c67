// The independent Merkle verifier of the tests: OpenZeppelin's MerkleProof.verify recomputed with
// keccak256 alone (@noble/hashes), so no code of the tree library checks its own output.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { compareEntityIds, parseEntityId } from '../../src/snapshots/hedera-ids.ts';
import type { Holder } from '../../src/snapshots/snapshot-format.ts';
import { generateHolders } from '../../testkit/mirror-node.ts';

/** Holders as a snapshot lists them: balance > 0, in account order. */
export function sortedHolders(count: number, seed: number): Holder[] {
  return generateHolders({ count, seed })
    .sort((a, b) => compareEntityIds(parseEntityId(a.account), parseEntityId(b.account)))
    .map((h) => ({ account: h.account, balance: h.balance.toString() }));
}

export const hex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString('hex')}`;
const bytesOf = (text: string) => Buffer.from(text.slice(2), 'hex');

/**
 * OpenZeppelin MerkleProof.verify, by hand: leaf = keccak256(keccak256(abi.encode(address,
 * uint256))), each step keccak256 of the sorted pair. No code of the tree library.
 */
export function verifyIndependently(root: string, address: string, amount: string, proof: string[]): boolean {
  const encoded = Buffer.concat([Buffer.alloc(12), bytesOf(address), Buffer.from(BigInt(amount).toString(16).padStart(64, '0'), 'hex')]);
  let node: Buffer = Buffer.from(keccak_256(keccak_256(encoded)));
  for (const sibling of proof) {
    const other = bytesOf(sibling);
    node = Buffer.from(keccak_256(Buffer.compare(node, other) <= 0 ? Buffer.concat([node, other]) : Buffer.concat([other, node])));
  }
  return hex(node) === root;
}

