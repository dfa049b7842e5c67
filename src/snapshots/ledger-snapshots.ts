// Snapshots of a Tally token (network `ledger`): the same records, jobs, events and content routes
// as Hedera snapshots, with the ledger's log as the source. The record names the token by symbol
// (tokenId) and the point by event id: requestedTimestamp is the event id the request resolved
// `at` to (at request time, so a retry or a late job gives the same bytes), consensusTimestamp the
// same id once completed. The bytes come from the ledger (src/ledger/history.ts), which this
// domain reaches only through LedgerHistorySource (main.ts passes the ledger client).
//
// Checkpoint: the completed ledger snapshot of the same token with the greatest event id at or
// before the one asked for; the ledger replays only the log after it. Found by reading the
// token's records newest first, at most checkpointScanRecordsMax of them.
import { compareEventIds, eventIdPattern, ledgerNetwork } from '../identifiers.ts';
import type { IpfsStore } from './ipfs-store.ts';
import type { PipelineDeps } from './pipeline.ts';
import type { SnapshotRecord, SnapshotStore } from './store/metadata-store.ts';

export { ledgerNetwork };

/** Records of a token read, newest first, to find its nearest checkpoint. */
export const checkpointScanRecordsMax = 500;
const listPageRecords = 100;
/** Progress while replaying the log; the rest is the write to IPFS. */
const replayProgressMax = 90;

export interface LedgerCheckpointRef { snapshotId: string; eventId: string; cid: string; content: () => AsyncIterable<Uint8Array> }

/** What the snapshot side needs of the ledger. */
export interface LedgerHistorySource {
  resolveAt(symbol: string, at?: string): Promise<string>;
  snapshotAt(symbol: string, eventId: string, checkpoint: { eventId: string; content: () => AsyncIterable<Uint8Array> } | null,
    onProgress?: (fraction: number) => void | Promise<void>): Promise<{ chunks: AsyncIterable<Uint8Array>; stats: { holders: number; total: bigint } }>;
}

export const isLedgerRecord = (record: Pick<SnapshotRecord, 'network'>): boolean => record.network === ledgerNetwork;

/** The nearest completed ledger snapshot of `symbol` at or before `eventId` whose bytes are here, or null. */
export async function nearestCheckpoint(store: SnapshotStore, ipfs: IpfsStore, symbol: string, eventId: string): Promise<LedgerCheckpointRef | null> {
  let best: SnapshotRecord | null = null;
  let cursor: string | undefined;
  for (let scanned = 0; scanned < checkpointScanRecordsMax; scanned += listPageRecords) {
    const page = await store.list({ tokenId: symbol, status: 'completed', limit: listPageRecords, ...(cursor ? { cursor } : {}) });
    for (const record of page.items) {
      const at = record.consensusTimestamp;
      if (!isLedgerRecord(record) || !record.cid || !at || !eventIdPattern.test(at) || compareEventIds(at, eventId) > 0) continue;
      if (!(await ipfs.has(record.cid))) continue;
      if (best === null || compareEventIds(at, best.consensusTimestamp!) > 0) best = record;
    }
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  if (best === null) return null;
  const cid = best.cid!;
  return { snapshotId: best.snapshotId, eventId: best.consensusTimestamp!, cid, content: () => ipfs.cat(cid) };
}

export type LedgerRunDeps = Pick<PipelineDeps, 'store' | 'ipfs' | 'signal' | 'onProgress'> & { history: LedgerHistorySource };

/** Runs (or reruns: the result depends only on the record) a ledger snapshot; returns the completed record. */
export async function runLedgerSnapshot(snapshotId: string, deps: LedgerRunDeps): Promise<SnapshotRecord> {
  const { store, ipfs, history, signal } = deps;
  const record = await store.get(snapshotId);
  if (!record) throw new Error(`snapshot ${snapshotId} does not exist`);
  if (record.status === 'completed') return record;
  const eventId = record.requestedTimestamp;
  if (!isLedgerRecord(record) || eventId === null) throw new Error(`snapshot ${snapshotId} is not a ledger snapshot with an event id`);
  await store.update(snapshotId, { status: 'running', attempts: record.attempts + 1, error: null });
  const checkpoint = await nearestCheckpoint(store, ipfs, record.tokenId, eventId);
  let reported = record.progress;
  const bytes = await history.snapshotAt(record.tokenId, eventId, checkpoint, async (fraction) => {
    const progress = Math.min(replayProgressMax, Math.floor(fraction * replayProgressMax));
    if (progress <= reported) return;
    reported = progress;
    await store.update(snapshotId, { progress });
    await deps.onProgress?.(progress);
  });
  const stored = await ipfs.addBytes(bytes.chunks, signal ? { signal } : {});
  return store.update(snapshotId, {
    status: 'completed', progress: 100, cid: stored.cid, bytes: stored.bytes, holders: bytes.stats.holders,
    totalBalance: String(bytes.stats.total), consensusTimestamp: eventId,
  });
}
