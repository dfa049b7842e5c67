// A token's log beyond Redis: the archived segments (docs/snapshot-format.md, Log segments) and the
// one reader of the log that every replay uses (history.ts, audit.ts, verify-log.ts), which reads
// the archives for the entries trimmed from the stream and the stream for the rest.
//
// A segment is NDJSON: a header line naming the token, the segment's index in the chain, the CID
// of the previous segment and the event-id range it covers (`after` is the previous segment's
// lastId, null for the first, whose first entry is init), then one line per log entry, oldest
// first, with the entry's fields in the stream's order. Segments hold a fixed number of entries,
// so the chain is a function of the log alone: the same log gives the same bytes, hence the same
// CIDs, however often and whenever it is archived. The segments from index 0 on, each naming
// the previous one's CID, are one hash chain from init.
//
// Trimming (redis-functions/ledger/log_trim.lua) records the last trimmed id as logTrimmedTo in
// the token hash, in the same call as the XTRIM: readers check that mark after each page of the
// stream, so a trim that overtakes a reader sends it to the archives instead of skipping entries.
import type { RedisConnection } from '../connections.ts';
import { TallyError } from '../errors.ts';
import { splitLines } from '../lines.ts';
import { compareEventIds, eventIdPattern, symbolPattern } from '../identifiers.ts';
import { tokenKeys } from './keys.ts';

/** `type` of a segment's header line. */
export const logSegmentType = 'TALLY_LOG_SEGMENT';
export const logSegmentVersion = 1;
/** Log entries one XRANGE (and one page of a replay) returns at most. */
export const logPageEntries = 1_000;
/** A batch of 1,000 legs between 128-character accounts is about 350 kB: a longer line is not a segment. */
const lineCharsMax = 1024 * 1024;
/** Entry lines gathered into one chunk of output. */
const linesPerChunk = 200;

/** One log entry: its id and its fields in the stream's order. */
export interface LogEntry { id: string; fields: Record<string, string> }

export interface LogSegmentHeader {
  type: typeof logSegmentType;
  version: typeof logSegmentVersion;
  symbol: string;
  /** 0 for the segment that starts with init, then 1, 2, ... */
  index: number;
  /** The CID of segment index - 1; null for segment 0. */
  previous: string | null;
  /** The last entry of segment index - 1 (the segment holds the entries after it); null for segment 0. */
  after: string | null;
  firstId: string;
  lastId: string;
  entries: number;
}

/** Where a segment of the chain is, as the metadata store records it (src/snapshots/store). */
export interface LogSegmentRef {
  symbol: string;
  index: number;
  cid: string;
  previous: string | null;
  after: string | null;
  firstId: string;
  lastId: string;
  entries: number;
  bytes: number;
  /** The SHA-256 of the bytes, hex: what was read back from IPFS before the log was trimmed. */
  sha256: string;
}

/** The entries a log reader needs from the archives (src/snapshots/log-archives.ts implements it over IPFS). */
export interface LogArchive {
  /**
   * The archived entries after `after` (null: from init) up to and including `to`, oldest first.
   * Checks the chain as it goes (each segment's header against the record of the one before);
   * throws when the archives do not reach `to`.
   */
  read(symbol: string, after: string | null, to: string): AsyncIterable<LogEntry>;
  /** The id of the last archived entry at or before `end` (an id), or null when none is. */
  lastUpTo(symbol: string, end: string): Promise<string | null>;
}

/** The log's entries up to `trimmedTo` are no longer in the stream, and this reader has no archives. */
export class LogTrimmedError extends TallyError {
  readonly trimmedTo: string;
  constructor(symbol: string, trimmedTo: string) {
    super('LOG_TRIMMED', `${trimmedTo} is the last entry archived and trimmed from the log of ${symbol}: the entries up to it are read from the archives (in the API, the CLI with DATA_DIR and the store), not from Redis`);
    this.trimmedTo = trimmedTo;
  }
}

/** The archive marks of the token hash (null: never archived / never trimmed). */
export async function logMarks(redis: RedisConnection, symbol: string): Promise<{ archivedTo: string | null; trimmedTo: string | null }> {
  const [archivedTo, trimmedTo] = (await redis.hmGet(tokenKeys(symbol).token, ['logArchivedTo', 'logTrimmedTo'])) as (string | null)[];
  return { archivedTo: archivedTo == null ? null : String(archivedTo), trimmedTo: trimmedTo == null ? null : String(trimmedTo) };
}

const streamIdMax = '18446744073709551615-18446744073709551615';
/** `to` of a reader: an event id, or '+' for the end of the log. */
const upperId = (to: string) => (to === '+' ? streamIdMax : to);
const minId = (a: string, b: string) => (compareEventIds(a, b) <= 0 ? a : b);
const isBefore = (cursor: string | null, mark: string) => cursor === null || compareEventIds(cursor, mark) < 0;

const toEntry = (raw: { id: string; message: unknown }): LogEntry => {
  const message = raw.message instanceof Map ? Object.fromEntries([...raw.message].map(([k, v]) => [String(k), String(v)])) : raw.message as Record<string, string>;
  return { id: String(raw.id), fields: message };
};

/** Up to `count` stream entries after `cursor` (null: the first), at most `to`. */
export async function streamPage(redis: RedisConnection, symbol: string, cursor: string | null, to: string, count: number): Promise<LogEntry[]> {
  const page = (await redis.xRange(tokenKeys(symbol).log, cursor === null ? '-' : `(${cursor}`, to, { COUNT: count })) ?? [];
  return page.map(toEntry);
}

export interface ReadLogOptions {
  archive?: LogArchive | null;
  /** Entries per page (default logPageEntries); a function is asked before each stream read. */
  pageEntries?: number | (() => number);
}

/**
 * The log's entries after `after` (null: from init) up to and including `to` (an id, or '+'), in
 * pages, oldest first: from the archives for what the stream no longer holds, then the stream.
 * After every stream page the trim mark is read again: a trim that passed the reader meanwhile
 * (the page may then lack entries) sends it back to the archives for them. Stop reading at any
 * time (break): nothing more is read.
 */
export async function* readLog(redis: RedisConnection, symbol: string, after: string | null, to: string, options: ReadLogOptions = {}): AsyncGenerator<LogEntry[]> {
  const pageSize = () => Math.max(1, typeof options.pageEntries === 'function' ? options.pageEntries() : options.pageEntries ?? logPageEntries);
  let cursor = after;
  let mark = (await logMarks(redis, symbol)).trimmedTo;
  for (;;) {
    if (mark !== null && isBefore(cursor, mark)) {
      if (!options.archive) throw new LogTrimmedError(symbol, mark);
      const upTo = minId(mark, upperId(to));
      let page: LogEntry[] = [];
      for await (const entry of options.archive.read(symbol, cursor, upTo)) {
        page.push(entry);
        if (page.length >= pageSize()) { yield page; page = []; }
      }
      if (page.length > 0) yield page;
      cursor = upTo;
      if (compareEventIds(upTo, upperId(to)) >= 0) return;
    }
    const want = pageSize();
    const page = await streamPage(redis, symbol, cursor, to, want);
    mark = (await logMarks(redis, symbol)).trimmedTo;
    if (mark !== null && isBefore(cursor, mark)) continue; // trimmed while reading: the archives have what the page may lack
    if (page.length > 0) yield page;
    if (page.length < want) return;
    cursor = page.at(-1)!.id;
  }
}

// Segment bytes ---------------------------------------------------------------------------------

export function segmentHeaderLine(h: Omit<LogSegmentHeader, 'type' | 'version'>): string {
  const ordered: LogSegmentHeader = {
    type: logSegmentType, version: logSegmentVersion, symbol: h.symbol, index: h.index, previous: h.previous, after: h.after,
    firstId: h.firstId, lastId: h.lastId, entries: h.entries,
  };
  return `${JSON.stringify(ordered)}\n`;
}

export const segmentEntryLine = (entry: LogEntry): string => `${JSON.stringify({ id: entry.id, fields: entry.fields })}\n`;

/** The bytes of a segment: the header, then the entries' lines in chunks. */
export async function* encodeSegment(header: Omit<LogSegmentHeader, 'type' | 'version'>, entries: AsyncIterable<LogEntry> | Iterable<LogEntry>): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  yield encoder.encode(segmentHeaderLine(header));
  let text = '';
  let lines = 0;
  for await (const entry of entries) {
    text += segmentEntryLine(entry);
    if (++lines === linesPerChunk) { yield encoder.encode(text); text = ''; lines = 0; }
  }
  if (text !== '') yield encoder.encode(text);
}

/** Bytes that are not the segment they should be (read back from IPFS, or named by a record). */
export class LogSegmentContentError extends TallyError {
  constructor(message: string) { super('INVALID_SNAPSHOT_CONTENT', message); }
}

function linesOf(content: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  return splitLines(content, lineCharsMax, (problem) => new LogSegmentContentError(problem === 'tooLong'
    ? `a log segment line is longer than ${lineCharsMax} characters` : 'the log segment does not end with a newline'));
}

function parseSegmentHeader(line: string | undefined): LogSegmentHeader {
  let h: Partial<LogSegmentHeader>;
  try {
    h = JSON.parse(line ?? '') as Partial<LogSegmentHeader>;
  } catch {
    throw new LogSegmentContentError('line 1 of the log segment is not a JSON header');
  }
  const id = (v: unknown) => typeof v === 'string' && eventIdPattern.test(v);
  const ok = h !== null && typeof h === 'object' && h.type === logSegmentType && h.version === logSegmentVersion
    && typeof h.symbol === 'string' && symbolPattern.test(h.symbol) && Number.isSafeInteger(h.index) && h.index! >= 0
    && (h.previous === null || typeof h.previous === 'string') && (h.after === null || id(h.after)) && id(h.firstId) && id(h.lastId)
    && Number.isSafeInteger(h.entries) && h.entries! >= 1 && (h.index === 0) === (h.previous === null) && (h.index === 0) === (h.after === null);
  if (!ok) throw new LogSegmentContentError('line 1 is not the header of a log segment');
  return h as LogSegmentHeader;
}

/**
 * Reads a segment as it streams: the header first, then its entries, each checked: ids strictly
 * ascending, after `after`, the first and last ids and the count those of the header, and
 * segment 0 opening with init. Memory: one chunk and one line.
 */
export async function readSegment(content: AsyncIterable<Uint8Array>): Promise<{ header: LogSegmentHeader; entries: AsyncGenerator<LogEntry> }> {
  const lines = linesOf(content);
  const first = await lines.next();
  const header = parseSegmentHeader(first.done ? undefined : first.value);
  const entries = (async function* () {
    let previous = header.after;
    let count = 0;
    for await (const line of lines) {
      count += 1;
      let entry: LogEntry;
      try {
        entry = JSON.parse(line) as LogEntry;
      } catch {
        throw new LogSegmentContentError(`line ${count + 1} of log segment ${header.index} of ${header.symbol} is not JSON`);
      }
      const fields = entry?.fields;
      if (typeof entry?.id !== 'string' || !eventIdPattern.test(entry.id) || typeof fields !== 'object' || fields === null || Array.isArray(fields)
        || !Object.values(fields).every((v) => typeof v === 'string') || typeof fields.type !== 'string') {
        throw new LogSegmentContentError(`line ${count + 1} of log segment ${header.index} of ${header.symbol} is not a log entry`);
      }
      if (previous !== null && compareEventIds(previous, entry.id) >= 0) throw new LogSegmentContentError(`log segment ${header.index} of ${header.symbol}: entry ${entry.id} is not after ${previous}`);
      if (count === 1 && entry.id !== header.firstId) throw new LogSegmentContentError(`log segment ${header.index} of ${header.symbol} starts at ${entry.id}, its header says ${header.firstId}`);
      if (count === 1 && header.index === 0 && fields.type !== 'init') throw new LogSegmentContentError(`log segment 0 of ${header.symbol} does not start with init`);
      if (count > header.entries) throw new LogSegmentContentError(`log segment ${header.index} of ${header.symbol} holds more than its ${header.entries} entries`);
      previous = entry.id;
      yield { id: entry.id, fields };
    }
    if (count !== header.entries || previous !== header.lastId) {
      throw new LogSegmentContentError(`log segment ${header.index} of ${header.symbol} holds ${count} entries ending at ${previous}, its header says ${header.entries} ending at ${header.lastId}`);
    }
  })();
  return { header, entries };
}
