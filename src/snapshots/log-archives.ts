// A bounded log (LEDGER_LOG_RETENTION_ENTRIES): the recurring job that archives each Tally token's
// log to IPFS in segments and only then trims it from Redis. The bytes of a segment and the
// reading back come from the ledger (src/ledger/log-archive.ts), which this domain reaches only
// through LedgerLogSource (main.ts passes the ledger client); the records go to the metadata store.
//
// One segment, in this order, each step safe to repeat:
//   1. the next `segmentEntries` entries after the chain's head, from the stream, stored on IPFS;
//   2. read back from IPFS: its SHA-256 and length equal to the bytes produced, its header the
//      one asked for, every entry parsed and in order; else nothing more happens;
//   3. recorded in the metadata store (segment index, CID, previous CID, range, hash);
//   4. ledger_log_archived: the token hash records the last archived id;
//   5. ledger_log_trim: the stream drops the entries up to it (never past step 4's mark).
// A worker that dies anywhere in between leaves a state the next run finishes: before 3, the
// segment is made again (the same entries give the same bytes, hence the same CID); after 3, the
// run starts by marking and trimming up to the store's last segment. So the log is never trimmed
// past what is stored, verified and recorded, and never trimmed half way (step 5 is one call).
//
// A token is due once its stream holds retentionEntries + segmentEntries entries after the last
// segment: the stream then keeps between retentionEntries and retentionEntries + segmentEntries.
// Bounded work per run: at most segmentsPerRunMax segments over all tokens, and at most
// tokensPerRunMax tokens looked at (the scan resumes where it stopped).
import type { IpfsStore } from './ipfs-store.ts';
import type { LogSegmentRecord, SnapshotStore } from './store/metadata-store.ts';

/** The recurring job that archives (one for the deployment, under the schedule lock). */
export const logArchiveScheduleId = 'ledger-log-archive';
export const segmentsPerRunMaxDefault = 10;
export const tokensPerRunMax = 1_000;
const tokenPageSize = 100;

/** Where a test can stop the worker (TALLY_FAULT_LOG_ARCHIVE_PAUSE): after step 2, 3 or 4 above. */
export const logArchiveFaultPoints = ['after-store', 'after-record', 'after-mark'] as const;
export type LogArchiveFaultPoint = (typeof logArchiveFaultPoints)[number];

interface SegmentHeaderFields {
  symbol: string; index: number; previous: string | null; after: string | null; firstId: string; lastId: string; entries: number;
}

/** What archiving needs of the ledger. */
export interface LedgerLogSource {
  listTokens(query: { cursor?: string; limit: number }): Promise<{ symbols: string[]; cursor: string | null }>;
  logLength(symbol: string): Promise<number>;
  logMarks(symbol: string): Promise<{ archivedTo: string | null; trimmedTo: string | null }>;
  logSegment(symbol: string, link: { index: number; previous: string | null; after: string | null }, entries: number):
    Promise<{ header: SegmentHeaderFields; chunks: AsyncIterable<Uint8Array>; digest(): { sha256: string; bytes: number } } | null>;
  inspectSegment(content: AsyncIterable<Uint8Array>): Promise<{ header: SegmentHeaderFields; sha256: string; bytes: number }>;
  logArchived(symbol: string, lastId: string): Promise<string>;
  logTrim(symbol: string, upToId: string): Promise<{ removed: number; trimmedTo: string; firstId: string | null }>;
}

export interface LogArchiveDeps {
  store: SnapshotStore;
  ipfs: IpfsStore;
  ledger: LedgerLogSource;
  retentionEntries: number;
  segmentEntries: number;
  segmentsPerRunMax?: number;
  /** Test-only: awaited at each point of a segment's archiving (a fault test pauses there and kills the worker). */
  onFault?: (point: LogArchiveFaultPoint, segment: { symbol: string; index: number }) => Promise<void>;
  onError?: (symbol: string, error: unknown) => void;
}

const idParts = (id: string) => id.split('-').map(BigInt) as [bigint, bigint];
const before = (a: string, b: string) => { const [x, y] = [idParts(a), idParts(b)]; return x[0] < y[0] || (x[0] === y[0] && x[1] < y[1]); };

/** Marks and trims up to the store's last segment where a run stopped after recording it. */
async function finishRecorded(deps: LogArchiveDeps, symbol: string, last: LogSegmentRecord): Promise<void> {
  const marks = await deps.ledger.logMarks(symbol);
  if (marks.archivedTo === null || before(marks.archivedTo, last.lastId)) {
    if (!(await deps.ipfs.has(last.cid))) throw new Error(`log segment ${last.index} of ${symbol} (${last.cid}) is recorded but its bytes are not in this IPFS store: not trimming`);
    await deps.ledger.logArchived(symbol, last.lastId);
  }
  if (marks.trimmedTo === null || before(marks.trimmedTo, last.lastId)) await deps.ledger.logTrim(symbol, last.lastId);
}

/** Stores, reads back and checks, records, marks and trims one segment; returns its record (null: not due). */
async function archiveNext(deps: LogArchiveDeps, symbol: string, last: LogSegmentRecord | null): Promise<LogSegmentRecord | null> {
  const { ledger, ipfs, store } = deps;
  const link = last === null ? { index: 0, previous: null, after: null } : { index: last.index + 1, previous: last.cid, after: last.lastId };
  const built = await ledger.logSegment(symbol, link, deps.segmentEntries);
  if (built === null) return null;
  const stored = await ipfs.addBytes(built.chunks);
  const produced = built.digest();
  const back = await ledger.inspectSegment(ipfs.cat(stored.cid));
  const sameHeader = (Object.keys(built.header) as (keyof SegmentHeaderFields)[]).every((key) => back.header[key] === built.header[key]);
  if (back.sha256 !== produced.sha256 || back.bytes !== produced.bytes || stored.bytes !== produced.bytes || !sameHeader) {
    throw new Error(`log segment ${link.index} of ${symbol} read back from IPFS (${stored.cid}) is not the bytes stored: not recording or trimming it`);
  }
  const segment = { symbol, index: link.index, cid: stored.cid, previous: link.previous, after: link.after };
  await deps.onFault?.('after-store', segment);
  const record = await store.saveLogSegment({ ...built.header, cid: stored.cid, sha256: produced.sha256, bytes: produced.bytes });
  await deps.onFault?.('after-record', segment);
  await ledger.logArchived(symbol, record.lastId);
  await deps.onFault?.('after-mark', segment);
  await ledger.logTrim(symbol, record.lastId);
  return record;
}

/**
 * Archives the token's due segments, at most `budget.segments` (decremented); first finishes a
 * run that stopped between recording a segment and trimming. Returns the segments archived.
 */
export async function archiveToken(deps: LogArchiveDeps, symbol: string, budget: { segments: number }): Promise<LogSegmentRecord[]> {
  let last = await deps.store.lastLogSegment(symbol);
  if (last !== null) await finishRecorded(deps, symbol, last);
  const archived: LogSegmentRecord[] = [];
  while (budget.segments > 0 && (await deps.ledger.logLength(symbol)) >= deps.retentionEntries + deps.segmentEntries) {
    const record = await archiveNext(deps, symbol, last);
    if (record === null) break;
    budget.segments -= 1;
    archived.push(record);
    last = record;
  }
  return archived;
}

/**
 * One run: for each token (at most tokensPerRunMax, after `cursor`) archives what is due, at most
 * segmentsPerRunMax segments in all. Returns what it archived and where the next run resumes
 * (null: from the first token). One token that fails is reported and skipped.
 */
export async function archiveDueLogs(deps: LogArchiveDeps, cursor: string | null): Promise<{ archived: LogSegmentRecord[]; cursor: string | null }> {
  const budget = { segments: deps.segmentsPerRunMax ?? segmentsPerRunMaxDefault };
  const archived: LogSegmentRecord[] = [];
  let next = cursor;
  for (let seen = 0; seen < tokensPerRunMax && budget.segments > 0;) {
    const page = await deps.ledger.listTokens({ limit: tokenPageSize, ...(next ? { cursor: next } : {}) });
    for (const symbol of page.symbols) {
      seen += 1;
      try {
        archived.push(...await archiveToken(deps, symbol, budget));
      } catch (error) {
        deps.onError?.(symbol, error);
      }
      // A token that used up the budget may have more due: the next run starts with it again.
      if (budget.segments === 0) return { archived, cursor: next };
    }
    next = page.cursor;
    if (next === null) break;
  }
  return { archived, cursor: next };
}
