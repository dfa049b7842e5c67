// The ledger's side of archiving a token's log (the job that stores segments and trims is
// src/snapshots/log-archives.ts): the bytes of the next segment, read from the stream; a segment
// read back (hash, size, header, every entry checked); the reader of the archived entries that
// replays use for a trimmed log (LogArchive, over the metadata store's segment records and IPFS);
// and `tally verify-log`: the chain from init to the head, then the log replayed from it equal
// to the live balances.
import { createHash } from 'node:crypto';
import type { RedisConnection } from '../connections.ts';
import { compareEventIds } from '../identifiers.ts';
import { auditToken, type AuditOptions } from './audit.ts';
import {
  encodeSegment, LogSegmentContentError, logMarks, logPageEntries, readSegment, streamPage,
  type LogArchive, type LogEntry, type LogSegmentHeader, type LogSegmentRef,
} from './log-segments.ts';

/** Where a segment sits in its chain: the fields of its header that the previous segment decides. */
export interface SegmentLink { index: number; previous: string | null; after: string | null }

export interface BuiltSegment {
  header: Omit<LogSegmentHeader, 'type' | 'version'>;
  chunks: AsyncIterable<Uint8Array>;
  /** The SHA-256 (hex) and length of the bytes; final once `chunks` has been read to its end. */
  digest(): { sha256: string; bytes: number };
}

/** Stream entries after `after`, `entries` of them, in pages; throws if the stream has fewer or lacks some (trimmed). */
async function* streamEntries(redis: RedisConnection, symbol: string, after: string | null, entries: number): AsyncGenerator<LogEntry> {
  let cursor = after;
  let left = entries;
  while (left > 0) {
    const page = await streamPage(redis, symbol, cursor, '+', Math.min(logPageEntries, left));
    if (page.length === 0) throw new Error(`the log of ${symbol} ended ${left} entries short of the segment after ${after ?? 'init'}`);
    yield* page;
    left -= page.length;
    cursor = page.at(-1)!.id;
  }
}

/**
 * The next segment of the token's chain: the `entries` entries after `link.after`, from the
 * stream (which must still hold them all: the archiver trims only what it archived). Null when
 * the stream has fewer. Two passes over those entries (ids, then the bytes): memory is one page.
 */
export async function buildSegment(redis: RedisConnection, symbol: string, link: SegmentLink, entries: number): Promise<BuiltSegment | null> {
  const { trimmedTo } = await logMarks(redis, symbol);
  if (trimmedTo !== null && (link.after === null || compareEventIds(link.after, trimmedTo) < 0)) {
    throw new Error(`the log of ${symbol} is trimmed up to ${trimmedTo}, past the start of segment ${link.index} (after ${link.after ?? 'init'}): the archives do not reach it`);
  }
  let firstId: string | null = null;
  let lastId: string | null = null;
  let count = 0;
  let cursor = link.after;
  while (count < entries) {
    const page = await streamPage(redis, symbol, cursor, '+', Math.min(logPageEntries, entries - count));
    if (page.length === 0) break;
    firstId ??= page[0]!.id;
    lastId = page.at(-1)!.id;
    count += page.length;
    cursor = lastId;
  }
  if (count < entries || firstId === null || lastId === null) return null;
  const header = { symbol, index: link.index, previous: link.previous, after: link.after, firstId, lastId, entries };
  const hash = createHash('sha256');
  let bytes = 0;
  let done = false;
  const chunks = (async function* () {
    let n = 0;
    for await (const chunk of encodeSegment(header, (async function* () {
      for await (const entry of streamEntries(redis, symbol, link.after, entries)) {
        n += 1;
        if (n === 1 && entry.id !== firstId) throw new Error(`the log of ${symbol} changed under segment ${link.index}: it starts at ${entry.id}, not ${firstId}`);
        if (n === entries && entry.id !== lastId) throw new Error(`the log of ${symbol} changed under segment ${link.index}: it ends at ${entry.id}, not ${lastId}`);
        yield entry;
      }
    })())) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      yield chunk;
    }
    done = true;
  })();
  return {
    header, chunks,
    digest() {
      if (!done) throw new Error('the segment bytes have not been read to their end');
      return { sha256: hash.digest('hex'), bytes };
    },
  };
}

export interface InspectedSegment { header: LogSegmentHeader; sha256: string; bytes: number }

/** Reads a segment's bytes to their end: its header, SHA-256 and length, every entry checked (readSegment). */
export async function inspectSegment(content: AsyncIterable<Uint8Array>, onEntry?: (entry: LogEntry) => void): Promise<InspectedSegment> {
  const hash = createHash('sha256');
  let bytes = 0;
  const hashed = (async function* () {
    for await (const chunk of content) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      yield chunk;
    }
  })();
  const { header, entries } = await readSegment(hashed);
  for await (const entry of entries) onEntry?.(entry);
  return { header, sha256: hash.digest('hex'), bytes };
}

/** What the archive reader needs: the segment records (the metadata store) and their bytes (IPFS). */
export interface LogArchiveSource {
  getLogSegment(symbol: string, index: number): Promise<LogSegmentRef | null>;
  lastLogSegment(symbol: string): Promise<LogSegmentRef | null>;
  cat(cid: string): AsyncIterable<Uint8Array>;
}

/** The record's header fields, to compare with what the bytes say. */
const headerOf = (r: LogSegmentRef): Omit<LogSegmentHeader, 'type' | 'version'> => ({
  symbol: r.symbol, index: r.index, previous: r.previous, after: r.after, firstId: r.firstId, lastId: r.lastId, entries: r.entries,
});

function checkHeader(record: LogSegmentRef, header: LogSegmentHeader): void {
  const expected = headerOf(record);
  const mismatch = (Object.keys(expected) as (keyof typeof expected)[]).find((key) => header[key] !== expected[key]);
  if (mismatch) throw new LogSegmentContentError(`log segment ${record.index} of ${record.symbol} (${record.cid}) says ${mismatch} ${JSON.stringify(header[mismatch])}, its record ${JSON.stringify(expected[mismatch])}`);
}

/** Checks that `record` is the link after `previous` (null: it must be segment 0). */
function checkLink(symbol: string, record: LogSegmentRef | null, index: number, previous: LogSegmentRef | null): LogSegmentRef {
  if (record === null) throw new LogSegmentContentError(`log segment ${index} of ${symbol} is missing from the store`);
  const ok = record.symbol === symbol && record.index === index
    && (previous === null ? record.previous === null && record.after === null : record.previous === previous.cid && record.after === previous.lastId);
  if (!ok) throw new LogSegmentContentError(`log segment ${index} of ${symbol} does not name segment ${index - 1}${previous ? ` (${previous.cid}, up to ${previous.lastId})` : ''} as its previous one`);
  return record;
}

/** The smallest index in lo..hi whose record satisfies `pred` (monotone in the index), or hi + 1. */
async function firstIndex(source: LogArchiveSource, symbol: string, lo: number, hi: number, pred: (r: LogSegmentRef) => boolean): Promise<number> {
  let [a, b] = [lo, hi + 1];
  while (a < b) {
    const mid = Math.floor((a + b) / 2);
    const record = await source.getLogSegment(symbol, mid);
    if (record === null) throw new LogSegmentContentError(`log segment ${mid} of ${symbol} is missing from the store`);
    if (pred(record)) b = mid; else a = mid + 1;
  }
  return a;
}

/** The archived entries over the segment records and their bytes; each segment's header and links checked as it is read. */
export function createLogArchive(source: LogArchiveSource): LogArchive {
  return {
    async *read(symbol, after, to) {
      const last = await source.lastLogSegment(symbol);
      if (last === null || compareEventIds(last.lastId, to) < 0) {
        throw new LogSegmentContentError(`the archives of ${symbol} end at ${last?.lastId ?? 'no entry'}, before ${to}: the log's entries up to there are gone from Redis`);
      }
      // The first segment holding an entry after `after`: the least index whose lastId is past it.
      let index = after === null ? 0 : await firstIndex(source, symbol, 0, last.index, (r) => compareEventIds(r.lastId, after) > 0);
      let previous = index === 0 ? null : await source.getLogSegment(symbol, index - 1);
      for (; index <= last.index; index++) {
        const record = checkLink(symbol, await source.getLogSegment(symbol, index), index, previous);
        const { header, entries } = await readSegment(source.cat(record.cid));
        checkHeader(record, header);
        for await (const entry of entries) {
          if (after !== null && compareEventIds(entry.id, after) <= 0) continue;
          if (compareEventIds(entry.id, to) > 0) return;
          yield entry;
        }
        if (compareEventIds(record.lastId, to) >= 0) return;
        previous = record;
      }
    },
    async lastUpTo(symbol, end) {
      const last = await source.lastLogSegment(symbol);
      if (last === null) return null;
      // The last segment whose firstId is at or before `end`.
      const index = (await firstIndex(source, symbol, 0, last.index, (r) => compareEventIds(r.firstId, end) > 0)) - 1;
      if (index < 0) return null;
      const record = (await source.getLogSegment(symbol, index))!;
      if (compareEventIds(record.lastId, end) <= 0) return record.lastId;
      let found: string | null = null;
      const { header, entries } = await readSegment(source.cat(record.cid));
      checkHeader(record, header);
      for await (const entry of entries) {
        if (compareEventIds(entry.id, end) > 0) break;
        found = entry.id;
      }
      return found;
    },
  };
}

export interface VerifyLogReport {
  symbol: string;
  ok: boolean;
  /** At most 100, each one sentence; `violationCount` counts them all. */
  violations: string[];
  violationCount: number;
  segments: number;
  archivedEntries: number;
  /** Entries replayed in all: the archived ones and the live log's. */
  logEntries: number;
  holders: number;
  /** The last archived entry (null: none) and the log's trim point (null: never trimmed). */
  archivedTo: string | null;
  trimmedTo: string | null;
}

/**
 * `tally verify-log SYM`: walks the chain from segment 0 (it opens with init) to the last one,
 * each segment read back whole (its SHA-256 and length those of its record, its header the
 * record's, its previous CID and range the previous segment's, its entries in order), checks that
 * the live log starts where the archives end, then replays the archives and the live log from
 * init and checks the result against the live balances and supplies (auditToken).
 */
export async function verifyLog(redis: RedisConnection, symbol: string, source: LogArchiveSource, options: Pick<AuditOptions, 'onProgress'> & { onSegment?: (index: number, of: number) => void } = {}): Promise<VerifyLogReport> {
  const violations: string[] = [];
  const archive = createLogArchive(source);
  const marks = await logMarks(redis, symbol);
  const last = await source.lastLogSegment(symbol);
  let archivedEntries = 0;
  let chainOk = true;
  let previous: LogSegmentRef | null = null;
  for (let index = 0; last !== null && index <= last.index; index++) {
    try {
      const record = checkLink(symbol, await source.getLogSegment(symbol, index), index, previous);
      const back = await inspectSegment(source.cat(record.cid));
      checkHeader(record, back.header);
      if (back.sha256 !== record.sha256 || back.bytes !== record.bytes) {
        throw new LogSegmentContentError(`log segment ${index} of ${symbol} (${record.cid}) reads back as ${back.bytes} bytes with SHA-256 ${back.sha256}, its record says ${record.bytes} and ${record.sha256}`);
      }
      archivedEntries += record.entries;
      previous = record;
      options.onSegment?.(index + 1, last.index + 1);
    } catch (error) {
      violations.push((error as Error).message);
      chainOk = false;
      break;
    }
  }
  const head = previous?.lastId ?? null;
  if (marks.trimmedTo !== null && (head === null || compareEventIds(marks.trimmedTo, head) > 0)) {
    violations.push(`the log of ${symbol} is trimmed up to ${marks.trimmedTo}, but its archives end at ${head ?? 'no entry'}: the entries in between are lost`);
    chainOk = false;
  }
  if (marks.archivedTo !== null && (head === null || compareEventIds(marks.archivedTo, head) > 0)) {
    violations.push(`the token hash says the log is archived up to ${marks.archivedTo}, but the archives recorded in the store end at ${head ?? 'no entry'}`);
  }
  let audit: Awaited<ReturnType<typeof auditToken>> | null = null;
  if (chainOk) {
    audit = await auditToken(redis, symbol, { archive, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
    violations.push(...audit.violations);
  }
  const violationCount = violations.length - (audit?.violations.length ?? 0) + (audit?.violationCount ?? 0);
  return {
    symbol, ok: violationCount === 0, violations: violations.slice(0, 100), violationCount,
    segments: last === null ? 0 : last.index + 1, archivedEntries, logEntries: audit?.logEntries ?? 0, holders: audit?.holders ?? 0,
    archivedTo: head, trimmedTo: marks.trimmedTo,
  };
}
