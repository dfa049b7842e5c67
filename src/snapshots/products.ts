// What completed snapshots serve beyond their bytes: the Merkle root and per-holder proofs
// (merkle.ts), and diffs between two snapshots of a token (diff.ts). Used by the REST routes and
// the CLI alike, over the metadata store and the IPFS store.
import type { IpfsStore } from './ipfs-store.ts';
import { diffLines, type DiffCounts } from './diff.ts';
import { leafEncoding, proveFromDump, type MerkleProof } from './merkle.ts';
import { NoMerkleTreeError, NotAHolderError } from './errors.ts';
import { parseEntityId } from './hedera-ids.ts';
import { TallyError } from '../errors.ts';
import { SnapshotNotFoundError, type MerkleSummary, type SnapshotRecord, type SnapshotStore } from './store/metadata-store.ts';

export interface ProductDeps {
  store: SnapshotStore;
  ipfs: IpfsStore;
}

/** The answer of GET /v1/snapshots/:id/merkle. */
export interface MerkleInfo {
  root: string;
  leafEncoding: readonly string[];
  leaves: number;
  treeCid: string;
}

/** A completed record, or the typed error its state calls for (SNAPSHOT_NOT_FOUND, NOT_READY). */
export async function completedRecord(store: SnapshotStore, snapshotId: string): Promise<SnapshotRecord & { cid: string }> {
  const record = await store.get(snapshotId);
  if (!record) throw new SnapshotNotFoundError(snapshotId);
  if (record.status !== 'completed' || !record.cid) throw new TallyError('NOT_READY', `snapshot ${snapshotId} is ${record.status}; it serves this once it is completed`);
  return record as SnapshotRecord & { cid: string };
}

function treeOf(record: SnapshotRecord): MerkleSummary {
  if (record.merkle) return record.merkle;
  const why = record.combination ? 'it is a combination of tokens (each source has its own tree)'
    : record.holders ? 'it was taken before snapshots had Merkle trees; take it again' : 'it has no holders';
  throw new NoMerkleTreeError(record.snapshotId, why);
}

export async function merkleInfo(deps: ProductDeps, snapshotId: string): Promise<MerkleInfo> {
  const tree = treeOf(await completedRecord(deps.store, snapshotId));
  return { root: tree.root, leafEncoding, leaves: tree.leaves, treeCid: tree.treeCid };
}

/** The proof of one holder: a few range reads of the stored tree dump. */
export async function proveHolder(deps: ProductDeps, snapshotId: string, account: string): Promise<MerkleProof> {
  const canonical = parseEntityId(account).id;
  const tree = treeOf(await completedRecord(deps.store, snapshotId));
  const proof = await proveFromDump((offset, length) => deps.ipfs.readRange(tree.treeCid, offset, length), tree, canonical);
  if (proof === null) throw new NotAHolderError(snapshotId, canonical);
  return proof;
}

export interface StoredDiff extends DiffCounts {
  cid: string;
  bytes: number;
}

/** Diffs remembered per IPFS store, by the pair of contents: a repeated GET reads nothing again. */
const diffsRemembered = new WeakMap<IpfsStore, Map<string, Promise<StoredDiff>>>();
/** Pairs remembered per store (a few hundred bytes each); the oldest is forgotten first. */
export const diffsRememberedMax = 256;

/**
 * Computes the diff of two completed snapshots of one token and stores it on IPFS (same pair,
 * same CID). The diff of two contents never changes, so it is computed once per process: later
 * and concurrent requests for the same pair share the first one's answer.
 */
export async function diffSnapshots(deps: ProductDeps, fromId: string, toId: string): Promise<StoredDiff> {
  const [from, to] = await Promise.all([completedRecord(deps.store, fromId), completedRecord(deps.store, toId)]);
  let remembered = diffsRemembered.get(deps.ipfs);
  if (!remembered) diffsRemembered.set(deps.ipfs, (remembered = new Map()));
  const key = `${from.cid} ${to.cid} ${from.tokenId} ${to.tokenId}`; // the header also names the tokens
  const known = remembered.get(key);
  if (known) return known;
  const computing = (async () => {
    const counts: DiffCounts = { gained: 0, lost: 0, changed: 0 };
    const stored = await deps.ipfs.addBytes(diffLines(deps.ipfs, from, to, counts));
    return { ...stored, ...counts };
  })();
  remembered.set(key, computing);
  if (remembered.size > diffsRememberedMax) remembered.delete(remembered.keys().next().value!);
  computing.catch(() => remembered.delete(key)); // a failure is not remembered
  return computing;
}
