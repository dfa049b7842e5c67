// The Merkle tree of a snapshot's holders, as on-chain distributors verify it (docs/snapshot-products.md):
// OpenZeppelin's StandardMerkleTree with leaf encoding ["address","uint256"], the account as its
// long-zero EVM address (shard 4 bytes | realm 8 | num 8), the balance as the amount. A claim
// contract checks a proof with OpenZeppelin's MerkleProof.verify(proof, root, leaf), where
// leaf = keccak256(bytes.concat(keccak256(abi.encode(account, amount)))).
//
// StandardMerkleTree.of keeps hex strings and a lookup object per leaf: 100,000 leaves take 18 s
// and 425 MB here, so a million would not fit. This file builds the very same tree (the library's
// leaf and node hashes, its leaf order and layout) in flat buffers, 96 bytes per holder,
// and streams its dump in the library's `standard-v1` JSON, which StandardMerkleTree.load reads.
// A proof is then served from the stored dump by a few small range reads, never the whole tree.
// The hashes are keccak256 over bytes with no allocation per hash: one reused Keccak-f[1600]
// state run by @noble/hashes' permutation (the implementation the library's own
// ethereum-cryptography wraps, in a faster release). The tree equals StandardMerkleTree.of's
// (test/snapshots/merkle.test.ts), and keccak256Into equals keccak_256 on every input it takes.
import { endianness } from 'node:os';
import { keccakP, keccak_256 } from '@noble/hashes/sha3.js';
import { SnapshotFormatError } from './errors.ts';
import { parseEntityId } from './hedera-ids.ts';
import type { Holder } from './snapshot-format.ts';

export const leafEncoding = ['address', 'uint256'] as const;
const hashBytes = 32;
const shardMax = 2n ** 32n - 1n;
/** Hedera ids stop at 2^63 - 1 per part (hedera-ids.ts), well inside the address's 8 bytes. */
const realmNumMax = 2n ** 64n - 1n;
const amountMax = 2n ** 256n - 1n;
/** A tree entry in the dump: `"0x` + 64 hex + `"` and a comma. */
const treeEntryChars = 69;
/** Values at most this long: `{"value":["0x`+40 hex+`","`+78 digits+`"],"treeIndex":`+10 digits+`}`. */
const valueEntryCharsMax = 160;
/** Entries of the dump per yielded chunk. */
const dumpBatchEntries = 4096;
/** Holders one tree may hold (the flat buffers index with 32-bit offsets). */
export const merkleLeavesMax = 16_000_000;

const dumpHead = '{"format":"standard-v1","leafEncoding":["address","uint256"],"tree":[';
const hexDigits = Buffer.from('0123456789abcdef');
const [comma, quote, zero, x] = [0x2c, 0x22, 0x30, 0x78];
const valuesHead = '],"values":[';
const valueHead = '{"value":["';

/** The long-zero EVM address of a Hedera account: `0x` + shard (4 bytes) + realm (8) + num (8). */
export function longZeroAddress(account: string): string {
  const { shard, realm, num } = parseEntityId(account);
  if (shard > shardMax || realm > realmNumMax || num > realmNumMax) throw new SnapshotFormatError(`account ${account} has no long-zero EVM address`);
  return `0x${shard.toString(16).padStart(8, '0')}${realm.toString(16).padStart(16, '0')}${num.toString(16).padStart(16, '0')}`;
}

/** keccak256's rate in bytes: the inputs hashed here (32 or 64 bytes) fit in one block. */
const keccakRateBytes = 136;
const keccakState = new Uint32Array(50);
const keccakStateBytes = new Uint8Array(keccakState.buffer);
/** The permutation reads its state as little-endian words; elsewhere use the plain function. */
const littleEndian = endianness() === 'LE';

/** keccak256(input) written at out[offset..offset+32), for inputs shorter than one block. */
export function keccak256Into(input: Uint8Array, out: Uint8Array, offset: number): void {
  if (input.length >= keccakRateBytes) throw new RangeError(`keccak256Into hashes less than ${keccakRateBytes} bytes, not ${input.length}`);
  if (!littleEndian) { out.set(keccak_256(input), offset); return; }
  keccakState.fill(0);
  keccakStateBytes.set(input, 0);
  keccakStateBytes[input.length]! ^= 0x01; // Keccak's padding (not SHA-3's 0x06): 0x01 ... 0x80
  keccakStateBytes[keccakRateBytes - 1]! ^= 0x80;
  keccakP(keccakState, 24);
  out.set(keccakStateBytes.subarray(0, hashBytes), offset);
}

/** The leaf hash of StandardMerkleTree for ["address","uint256"]: keccak256(keccak256(abi.encode(...))). */
function leafHash(address: string, amount: string, out: Buffer, offset: number, encoded: Buffer): void {
  const value = BigInt(amount);
  if (value > amountMax) throw new SnapshotFormatError(`amount ${amount} does not fit a uint256`);
  encoded.write(address.slice(2), 12, 'hex');
  encoded.write(value.toString(16).padStart(64, '0'), 32, 'hex');
  keccak256Into(encoded, out, offset);
  keccak256Into(out.subarray(offset, offset + hashBytes), out, offset);
}

export interface BuiltTree {
  root: string;
  leaves: number;
  /**
   * The dump's bytes; reads the holders once more, in the same order. With `reuseChunks` each
   * chunk's memory is written over once the next is pulled (for a consumer that copies, such as
   * IpfsStore.addBytes): the dump then makes almost no garbage, which matters at a million holders.
   * Without it every chunk is a fresh copy.
   */
  dump(options?: { reuseChunks?: boolean }): AsyncGenerator<Uint8Array>;
}

/**
 * Builds the tree of `holders` (a fresh iteration each call, the same holders in the same
 * order; `count` of them). Memory: 96 bytes per holder plus one batch of text. Null for none.
 */
export async function buildMerkleTree(holders: () => AsyncIterable<Holder>, count: number): Promise<BuiltTree | null> {
  if (count === 0) return null;
  if (!Number.isSafeInteger(count) || count < 0 || count > merkleLeavesMax) throw new SnapshotFormatError(`a Merkle tree holds 1..${merkleLeavesMax} leaves, not ${count}`);
  const hashes = Buffer.alloc(count * hashBytes);
  const encoded = Buffer.alloc(64); // abi.encode(address, uint256): the address's 12 leading zero bytes stay zero
  let n = 0;
  for await (const holder of holders()) {
    if (n === count) throw new SnapshotFormatError(`more than the ${count} holders counted`);
    leafHash(longZeroAddress(holder.account), holder.balance, hashes, n * hashBytes, encoded);
    n += 1;
  }
  if (n !== count) throw new SnapshotFormatError(`${n} holders, not the ${count} counted`);
  // The library sorts leaves by hash (sortLeaves, a byte-wise compare), then lays them out from
  // the end of the tree: the leaf of rank r is node 2n - 2 - r.
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  // buf.compare(target, tStart, tEnd, sStart, sEnd) compares the source range to the target range: a to b here.
  order.sort((a, b) => hashes.compare(hashes, b * hashBytes, b * hashBytes + hashBytes, a * hashBytes, a * hashBytes + hashBytes) || a - b);
  const nodes = 2 * count - 1;
  const tree = Buffer.alloc(nodes * hashBytes);
  const treeIndex = new Uint32Array(count);
  for (let rank = 0; rank < count; rank++) {
    const index = nodes - 1 - rank;
    hashes.copy(tree, index * hashBytes, order[rank]! * hashBytes, order[rank]! * hashBytes + hashBytes);
    treeIndex[order[rank]!] = index;
  }
  // An inner node is keccak256 of its children in byte order (the library's standardNodeHash).
  const pair = Buffer.alloc(2 * hashBytes);
  for (let i = nodes - 1 - count; i >= 0; i--) {
    const left = (2 * i + 1) * hashBytes;
    const right = left + hashBytes;
    // tree.compare(target, tStart, tEnd, sStart, sEnd) compares the source range (left) to the target range (right).
    const [first, second] = tree.compare(tree, right, right + hashBytes, left, right) <= 0 ? [left, right] : [right, left];
    tree.copy(pair, 0, first, first + hashBytes);
    tree.copy(pair, hashBytes, second, second + hashBytes);
    keccak256Into(pair, tree, i * hashBytes);
  }
  return {
    root: `0x${tree.subarray(0, hashBytes).toString('hex')}`,
    leaves: count,
    dump: (options = {}) => dumpTree(tree, treeIndex, holders, options.reuseChunks ?? false),
  };
}

async function* dumpTree(tree: Buffer, treeIndex: Uint32Array, holders: () => AsyncIterable<Holder>, reuse: boolean): AsyncGenerator<Uint8Array> {
  const nodes = tree.length / hashBytes;
  // Every batch is written into one of two buffers, never into a string that large (a string of
  // hundreds of KB lives in V8's old space until a full collection): yielded as it is when the
  // consumer copies (`reuse`), else as a copy.
  const treeBatch = Buffer.allocUnsafe(dumpBatchEntries * treeEntryChars);
  const valuesBatch = Buffer.allocUnsafe(dumpBatchEntries * (valueEntryCharsMax + 1) + valuesHead.length + 2);
  const out = (batch: Buffer, bytes: number) => (reuse ? batch.subarray(0, bytes) : Buffer.from(batch.subarray(0, bytes)));
  yield Buffer.from(dumpHead);
  for (let first = 0; first < nodes; first += dumpBatchEntries) {
    // Hex written byte by byte: no string per node.
    const last = Math.min(nodes, first + dumpBatchEntries);
    let at = 0;
    for (let i = first; i < last; i++) {
      if (i > 0) treeBatch[at++] = comma;
      treeBatch[at++] = quote; treeBatch[at++] = zero; treeBatch[at++] = x;
      for (let b = i * hashBytes; b < (i + 1) * hashBytes; b++) { treeBatch[at++] = hexDigits[tree[b]! >> 4]!; treeBatch[at++] = hexDigits[tree[b]! & 15]!; }
      treeBatch[at++] = quote;
    }
    yield out(treeBatch, at);
  }
  let at = valuesBatch.write(valuesHead, 0, 'latin1');
  let n = 0;
  for await (const holder of holders()) {
    const entry = `${n === 0 ? '' : ','}${valueHead}${longZeroAddress(holder.account)}","${holder.balance}"],"treeIndex":${treeIndex[n]}}`;
    if (entry.length > valueEntryCharsMax + 1) throw new SnapshotFormatError(`a Merkle value of ${holder.account} is longer than ${valueEntryCharsMax} characters`);
    at += valuesBatch.write(entry, at, 'latin1');
    n += 1;
    if (n % dumpBatchEntries === 0) { yield out(valuesBatch, at); at = 0; }
  }
  if (n !== treeIndex.length) throw new SnapshotFormatError(`the holders changed between the two readings (${n}, then ${treeIndex.length})`);
  at += valuesBatch.write(']}', at, 'latin1');
  yield out(valuesBatch, at);
}

/** Reads `length` bytes at `offset` of the dump (fewer at its end). */
export type RangeReader = (offset: number, length: number) => Promise<Buffer>;

export interface MerkleProof {
  account: string;
  address: string;
  amount: string;
  proof: string[];
}

/**
 * The proof of `account` from a stored dump of `leaves` leaves and `bytes` bytes, or null when
 * the account holds no leaf. The values are in account order, so a binary search over their bytes
 * finds the account's entry; the tree entries have a fixed width, so each sibling is one read.
 */
export async function proveFromDump(read: RangeReader, tree: { leaves: number; bytes: number }, account: string): Promise<MerkleProof | null> {
  const address = longZeroAddress(account);
  const nodes = 2 * tree.leaves - 1;
  const valuesStart = dumpHead.length + nodes * treeEntryChars - 1 + valuesHead.length;
  const entry = await findValue(read, valuesStart, tree.bytes - 2, address);
  if (entry === null) return null;
  const proof: string[] = [];
  for (let index = entry.treeIndex; index > 0; index = Math.floor((index - 1) / 2)) {
    const sibling = index % 2 === 1 ? index + 1 : index - 1;
    proof.push((await read(dumpHead.length + sibling * treeEntryChars + 1, 66)).toString('latin1'));
  }
  return { account, address, amount: entry.amount, proof };
}

const valuePattern = /^\{"value":\["(0x[0-9a-f]{40})","(0|[1-9][0-9]*)"\],"treeIndex":(0|[1-9][0-9]*)\}/;

/**
 * Binary search over the entries starting in [lo, hi): the first entry starting at or after the
 * middle tells which half holds the address (every entry follows `[` or `,` and is at most
 * valueEntryCharsMax long, so one read of twice that finds and holds it).
 */
async function findValue(read: RangeReader, start: number, end: number, address: string): Promise<{ amount: string; treeIndex: number } | null> {
  let lo = start;
  let hi = end;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const window = (await read(mid - 1, 2 * valueEntryCharsMax + 1)).toString('latin1');
    const delimiter = window.search(/[[,]\{"value":\["/);
    const entryStart = mid + delimiter;
    if (delimiter < 0 || entryStart >= hi) { hi = mid; continue; }
    const match = valuePattern.exec(window.slice(delimiter + 1));
    if (match === null) throw new SnapshotFormatError(`the Merkle dump has no value entry at byte ${entryStart}`);
    const [text, found, amount, treeIndex] = match as unknown as [string, string, string, string];
    if (found === address) return { amount, treeIndex: Number(treeIndex) };
    if (found < address) lo = entryStart + text.length;
    else hi = mid;
  }
  return null;
}
