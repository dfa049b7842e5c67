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

/** What the automatic checkpoints need besides: the tokens, and how far each log runs past a point. */
export interface LedgerCheckpointSource extends LedgerHistorySource {
  listTokens(query: { cursor?: string; limit: number }): Promise<{ symbols: string[]; cursor: string | null }>;
  entriesAfter(symbol: string, after: string | null, max: number): Promise<{ count: number; lastId: string | null }>;
}

/** The recurring job that takes checkpoints (one for the deployment, under the schedule lock). */
export const checkpointScheduleId = 'ledger-checkpoints';
/** Tokens looked at per check; the rest wait for the next one (the scan resumes where it stopped). */
export const checkpointTokensPerCheckMax = 1_000;
const tokenPageSize = 100;
export const checkpointRequester = 'tally-checkpoints';

export const isLedgerRecord = (record: Pick<SnapshotRecord, 'network'>): boolean => record.network === ledgerNetwork;

/** The nearest completed ledger snapshot of `symbol` at or before `eventId` whose bytes are here, or null. */
export async function nearestCheckpoint(store: SnapshotStore, ipfs: IpfsStore, symbol: string, eventId: string): Promise<LedgerCheckpointRef | null> {
  const candidates: SnapshotRecord[] = [];
  let cursor: string | undefined;
  for (let scanned = 0; scanned < checkpointScanRecordsMax; scanned += listPageRecords) {
    const page = await store.list({ tokenId: symbol, status: 'completed', limit: listPageRecords, ...(cursor ? { cursor } : {}) });
    for (const record of page.items) {
      const at = record.consensusTimestamp;
      if (isLedgerRecord(record) && record.cid && at && eventIdPattern.test(at) && compareEventIds(at, eventId) <= 0) candidates.push(record);
    }
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  // The latest first; one whose blocks are not in this IPFS store (another machine's) is passed over.
  candidates.sort((a, b) => compareEventIds(b.consensusTimestamp!, a.consensusTimestamp!));
  for (const best of candidates) {
    const cid = best.cid!;
    if (await ipfs.has(cid)) return { snapshotId: best.snapshotId, eventId: best.consensusTimestamp!, cid, content: () => ipfs.cat(cid) };
  }
  return null;
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

/** A queued or running ledger snapshot of the token (one is enough: it will become the next checkpoint). */
export async function hasPendingLedgerSnapshot(store: SnapshotStore, symbol: string): Promise<boolean> {
  for (const status of ['queued', 'running'] as const) {
    const page = await store.list({ tokenId: symbol, status, limit: 20 });
    if (page.items.some(isLedgerRecord)) return true;
  }
  return false;
}

export interface CheckpointDeps {
  store: SnapshotStore;
  ipfs: IpfsStore;
  history: LedgerCheckpointSource;
  everyEntries: number;
  request: (symbol: string) => Promise<unknown>;
  onError?: (symbol: string, error: unknown) => void;
  /**
   * Per token, what earlier checks counted after its checkpoint: each check then reads only the
   * entries added since (one small entry per token; the worker keeps it in memory).
   */
  counted: Map<string, { checkpoint: string | null; upTo: string | null; count: number }>;
}

async function checkpointIfDue(deps: CheckpointDeps, symbol: string): Promise<boolean> {
  const last = await deps.history.resolveAt(symbol);
  const checkpoint = (await nearestCheckpoint(deps.store, deps.ipfs, symbol, last))?.eventId ?? null;
  const known = deps.counted.get(symbol);
  const before = known && known.checkpoint === checkpoint ? known : { checkpoint, upTo: checkpoint, count: 0 };
  const more = await deps.history.entriesAfter(symbol, before.upTo, deps.everyEntries - before.count);
  const count = before.count + more.count;
  deps.counted.set(symbol, { checkpoint, upTo: more.lastId ?? before.upTo, count });
  if (count < deps.everyEntries || await hasPendingLedgerSnapshot(deps.store, symbol)) return false;
  await deps.request(symbol);
  return true;
}

/**
 * One check: for each token (at most checkpointTokensPerCheckMax, after `cursor`), requests a
 * ledger snapshot at the log's end when at least `everyEntries` entries follow its latest
 * checkpoint and none is pending. Reads the entries added since the previous check (at most
 * `everyEntries` per token). Returns the
 * tokens it requested and where the next check resumes (null: from the first token).
 */
export async function takeDueCheckpoints(deps: CheckpointDeps, cursor: string | null): Promise<{ requested: string[]; cursor: string | null }> {
  const requested: string[] = [];
  let next = cursor;
  for (let seen = 0; seen < checkpointTokensPerCheckMax;) {
    const page = await deps.history.listTokens({ limit: tokenPageSize, ...(next ? { cursor: next } : {}) });
    for (const symbol of page.symbols) {
      seen += 1;
      // One token that cannot be read (a key of the wrong type, say) must not stop the others.
      if (await checkpointIfDue(deps, symbol).catch((error: unknown) => { deps.onError?.(symbol, error); return false; })) requested.push(symbol);
    }
    next = page.cursor;
    if (next === null) break;
  }
  return { requested, cursor: next };
}
