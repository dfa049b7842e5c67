// Combinations (docs/snapshot-products.md): the holders of several tokens at one timestamp, joined
// with `all` (holders of every token) or `any` (of at least one), each token's balance kept per
// line. The job pins one timestamp, takes one ordinary snapshot per token at it (each with its own
// record, CID and Merkle tree; a resumed job reuses those already made), then joins their contents
// in one merge pass over the IPFS streams (all in account order): memory stays bounded by a line
// per source. Line 1 names the sources by token and CID, so the same sources and mode give the
// same bytes and CID.
import { describeError } from './errors.ts';
import { compareEntityIds, parseEntityId } from './hedera-ids.ts';
import type { IpfsStore } from './ipfs-store.ts';
import { runSnapshot, type PipelineDeps } from './pipeline.ts';
import { readSnapshot, type Holder } from './snapshot-format.ts';
import type { Combination, SnapshotRecord } from './store/metadata-store.ts';

/** Lines buffered before one chunk is yielded. */
const batchLines = 1000;

export interface CombinedSource {
  tokenId: string;
  cid: string;
  /** The consensus timestamp the source's balances come from. */
  timestamp: string;
}

export function combinationHeader(mode: Combination['mode'], network: string, timestamp: string, sources: CombinedSource[]): string {
  return `${JSON.stringify({ combine: mode, network, timestamp, sources: sources.map((s) => ({ tokenId: s.tokenId, cid: s.cid, timestamp: s.timestamp })) })}\n`;
}

/** The joined content; `counts.holders` fills in as it is read. */
export async function* combinationLines(ipfs: IpfsStore, mode: Combination['mode'], header: string, sources: CombinedSource[], counts: { holders: number }): AsyncGenerator<Uint8Array> {
  const streams = await Promise.all(sources.map(async (s) => (await readSnapshot(ipfs.cat(s.cid))).holders));
  const heads: Array<Holder | null> = await Promise.all(streams.map(async (stream) => (await stream.next()).value ?? null));
  let text = header;
  for (;;) {
    const present = heads.filter((h): h is Holder => h !== null);
    if (present.length === 0) break;
    const account = present.map((h) => h.account).reduce((a, b) => (compareEntityIds(parseEntityId(a), parseEntityId(b)) <= 0 ? a : b));
    const here = heads.map((h) => (h !== null && h.account === account ? h : null));
    if (mode === 'any' || here.every((h) => h !== null)) {
      const balances = sources.map((s, i) => `${JSON.stringify(s.tokenId)}:"${here[i]?.balance ?? '0'}"`).join(',');
      text += `{"account":"${account}","balances":{${balances}}}\n`;
      if (++counts.holders % batchLines === 0) { yield Buffer.from(text); text = ''; }
    }
    for (let i = 0; i < heads.length; i++) if (here[i] !== null) heads[i] = (await streams[i]!.next()).value ?? null;
  }
  yield Buffer.from(text);
}

/**
 * Runs a combination record's job: its sources' snapshots at one timestamp, then the join.
 * `onProgress` gets the combined percentage (each source an equal share; below 100 until stored).
 */
export async function runCombination(record: SnapshotRecord & { combination: Combination }, deps: PipelineDeps): Promise<SnapshotRecord> {
  const { store, mirror, signal } = deps;
  await store.update(record.snapshotId, { status: 'running', attempts: record.attempts + 1, error: null });
  const combination = structuredClone(record.combination);
  const existing = combination.sources.find((s) => s.snapshotId !== null);
  const pinned = record.requestedTimestamp
    ?? (existing ? (await store.get(existing.snapshotId!))?.requestedTimestamp : null)
    ?? await mirror.latestTimestamp(signal ? { signal } : {});
  for (const source of combination.sources) {
    if (source.snapshotId !== null) continue;
    const child = await store.create({ tokenId: source.tokenId, network: record.network, requestedTimestamp: pinned, requestedBy: record.requestedBy, scheduleId: record.scheduleId, filters: source.filters });
    source.snapshotId = child.snapshotId;
  }
  await store.update(record.snapshotId, { combination }); // a resumed job finds its sources here
  const done: CombinedSource[] = [];
  let reported = record.progress;
  for (const [i, source] of combination.sources.entries()) {
    const n = combination.sources.length;
    const child = await runSnapshot(source.snapshotId!, { ...deps, onPage: undefined, onProgress: async (p, holders) => {
      const progress = Math.min(99, Math.floor((i * 100 + p) / n));
      if (progress > reported) { reported = progress; await store.update(record.snapshotId, { progress }); await deps.onProgress?.(progress, holders); }
    } }).catch(async (error: unknown) => {
      // The source's record says why too; a later attempt of the combination runs it again.
      await store.update(source.snapshotId!, { status: 'failed', error: describeError(error) }).catch(() => {});
      throw error;
    });
    source.cid = child.cid;
    done.push({ tokenId: source.tokenId, cid: child.cid!, timestamp: child.consensusTimestamp ?? pinned });
  }
  const counts = { holders: 0 };
  const header = combinationHeader(combination.mode, record.network, pinned, done);
  const stored = await deps.ipfs.addBytes(combinationLines(deps.ipfs, combination.mode, header, done, counts), signal ? { signal } : {});
  return store.update(record.snapshotId, { status: 'completed', progress: 100, cid: stored.cid, bytes: stored.bytes, holders: counts.holders,
    totalBalance: null, consensusTimestamp: pinned, combination });
}
