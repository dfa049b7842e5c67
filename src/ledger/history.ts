// A token's past, from its log (token:{SYM}:log): where an `at` falls in the log, the ledger snapshot
// at an event id, and one balance or the top holders as of an event id. Each starts from a
// checkpoint (an earlier ledger snapshot, its bytes streamed back from IPFS by the caller) or,
// without one, from init, and replays only the log entries after it, read in pages of
// logPageEntries (log-segments.ts readLog: from the archives, given by the caller, for what a
// trimmed log no longer holds, then with XRANGE from the stream). Nothing here reads the live balances: a result depends only on the log up to
// the event id, so it is exact and the same whenever it is computed.
//
// Bounds: as-of reads replay at most `entriesMax` entries (HistoryTooFarError beyond) and hold the
// accounts those entries touch plus the answer (the top `limit`); the checkpoint streams through
// one line at a time. A ledger snapshot replays without an entry bound (it is a worker job) and
// holds the accounts touched since its checkpoint, never the checkpoint's holders.
import type { RedisConnection } from '../connections.ts';
import { TallyError } from '../errors.ts';
import { amountPattern, compareEventIds, eventIdPattern } from '../identifiers.ts';
import { supply } from './functions.ts';
import { tokenKeys } from './keys.ts';
import { LogTrimmedError, logMarks, logPageEntries, readLog, type LogArchive } from './log-segments.ts';
import {
  compareLedgerAccounts, encodeLines, ledgerHeaderLine, readLedgerSnapshot, type LedgerHolder, type LedgerSnapshotHeader,
} from './snapshot-content.ts';

export { logPageEntries };
/** `at` is at most this long (an event id is at most 41 characters, an ISO time 29). */
export const atCharsMax = 64;
const streamIdPartMax = (1n << 64n) - 1n;
const isoTimePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

export class InvalidAtError extends TallyError {
  constructor(message: string) { super('INVALID_AT', message); }
}

export class HistoryTooFarError extends TallyError {
  constructor(message: string) { super('HISTORY_TOO_FAR', message); }
}

/** An earlier ledger snapshot of the token: its event id and its bytes (read lazily). */
export interface LedgerCheckpoint { eventId: string; content: () => AsyncIterable<Uint8Array> }

/** `at` as given: an event id `ms-seq`, or an ISO 8601 time with a zone (ms since the epoch). */
export function parseAt(at: unknown): { eventId: string } | { ms: number } {
  if (typeof at !== 'string' || at.length > atCharsMax) throw new InvalidAtError('at must be an event id such as 1700000000000-0 or an ISO 8601 time such as 2026-01-31T23:59:59Z');
  const event = eventIdPattern.exec(at);
  if (event) {
    if (BigInt(event[1]!) > streamIdPartMax || BigInt(event[2]!) > streamIdPartMax) throw new InvalidAtError('each part of an event id is at most 2^64 - 1');
    return { eventId: at };
  }
  const ms = isoTimePattern.test(at) ? Date.parse(at) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidAtError(`at ${JSON.stringify(at)} is neither an event id such as 1700000000000-0 nor an ISO 8601 time such as 2026-01-31T23:59:59Z`);
  return { ms };
}

/**
 * The id of the last log entry at or before `end` (an id, or a bare ms meaning that whole ms):
 * in the stream, else (a trimmed log) in the archives.
 */
async function lastEntryUpTo(redis: RedisConnection, symbol: string, end: string, archive: LogArchive | null = null): Promise<string | null> {
  const [entry] = (await redis.xRevRange(tokenKeys(symbol).log, end, '-', { COUNT: 1 })) ?? [];
  if (entry) return entry.id;
  const { trimmedTo } = await logMarks(redis, symbol);
  if (trimmedTo === null) return null;
  if (!archive) throw new LogTrimmedError(symbol, trimmedTo);
  return archive.lastUpTo(symbol, /^\d+$/.test(end) ? `${end}-${streamIdPartMax}` : end);
}

/**
 * The event id an `at` stands for: the last log entry at or before it (absent: the log's last
 * entry now). Refuses a point before init, an event id after the log's end, a time not yet past.
 * TOKEN_NOT_FOUND for a token that does not exist.
 */
export async function resolveAt(redis: RedisConnection, symbol: string, at?: string, archive: LogArchive | null = null): Promise<string> {
  const parsed = at === undefined ? null : parseAt(at);
  await supply(redis, symbol);
  const last = await lastEntryUpTo(redis, symbol, '+');
  if (last === null) throw new Error(`the log of ${symbol} is empty although the token exists`);
  if (parsed === null) return last;
  let end: string;
  if ('eventId' in parsed) {
    if (compareEventIds(parsed.eventId, last) > 0) throw new InvalidAtError(`at ${parsed.eventId} is after the last event of ${symbol} (${last})`);
    end = parsed.eventId;
  } else {
    if (parsed.ms >= Date.now()) throw new InvalidAtError(`at ${at} is not in the past`);
    end = String(parsed.ms);
  }
  const id = await lastEntryUpTo(redis, symbol, end, archive);
  if (id === null) throw new InvalidAtError(`at ${at} is before ${symbol} was created`);
  return id;
}

interface Replay {
  /** Account -> change since the starting point (init counts as a change from nothing). */
  deltas: Map<string, bigint>;
  burned: bigint;
  init: { name: string; decimals: number; totalSupply: string } | null;
  entries: number;
}

interface ReplayOptions {
  /** More entries than this between the start and the end: HistoryTooFarError. */
  entriesMax?: number;
  /** Track only this account's change (memory O(1)). */
  account?: string;
  /** Where the entries a trimmed log no longer holds come from. */
  archive?: LogArchive | null;
  onPage?: (lastId: string) => void | Promise<void>;
}

function amountOf(text: string | undefined, id: string): bigint {
  if (text === undefined || !amountPattern.test(text)) throw new Error(`log entry ${id} holds a malformed amount`);
  return BigInt(text);
}

function applyEntry(r: Replay, id: string, fields: Record<string, string>, only: string | undefined): void {
  const move = (account: string | undefined, delta: bigint) => {
    if (account === undefined) throw new Error(`log entry ${id} names no account`);
    if (only === undefined || account === only) r.deltas.set(account, (r.deltas.get(account) ?? 0n) + delta);
  };
  switch (fields.type) {
    case 'init':
      r.init = { name: fields.name ?? '', decimals: Number(fields.decimals), totalSupply: String(amountOf(fields.amount, id)) };
      move(fields.account, amountOf(fields.amount, id));
      break;
    case 'transfer': { const a = amountOf(fields.amount, id); move(fields.from, -a); move(fields.to, a); break; }
    case 'burn': { const a = amountOf(fields.amount, id); move(fields.account, -a); r.burned += a; break; }
    case 'batch':
      for (const [from, to, amount] of JSON.parse(fields.legs ?? '[]') as [string, string, string][]) {
        const a = amountOf(amount, id);
        move(from, -a);
        move(to, a);
      }
      break;
    default: throw new Error(`log entry ${id} has an unknown type ${JSON.stringify(fields.type)}`);
  }
}

/** Applies the entries after `from` (null: from the start) up to and including `to`. */
async function replay(redis: RedisConnection, symbol: string, from: string | null, to: string, options: ReplayOptions = {}): Promise<Replay> {
  const r: Replay = { deltas: new Map(), burned: 0n, init: null, entries: 0 };
  const max = options.entriesMax;
  if (from !== null && compareEventIds(from, to) >= 0) return r;
  const pageEntries = () => (max === undefined ? logPageEntries : Math.min(logPageEntries, max - r.entries + 1));
  for await (const page of readLog(redis, symbol, from, to, { archive: options.archive ?? null, pageEntries })) {
    for (const entry of page) applyEntry(r, entry.id, entry.fields, options.account);
    r.entries += page.length;
    if (max !== undefined && r.entries > max) {
      throw new HistoryTooFarError(`answering at ${to} would replay more than ${max} log entries of ${symbol} after its nearest checkpoint (${from ?? 'init'}); retry once a ledger snapshot nearer to it exists (the API requests one)`);
    }
    if (page.length > 0) await options.onPage?.(page.at(-1)!.id);
  }
  return r;
}

/** The checkpoint's header, checked to be this token's and no later than `eventId`, and its holders. */
async function openCheckpoint(symbol: string, eventId: string, checkpoint: LedgerCheckpoint | null) {
  if (checkpoint === null) return { header: null, holders: (async function* (): AsyncGenerator<LedgerHolder> {})() };
  const { header, holders } = await readLedgerSnapshot(checkpoint.content());
  if (header.symbol !== symbol || header.eventId !== checkpoint.eventId || compareEventIds(header.eventId, eventId) > 0) {
    throw new Error(`the checkpoint of ${symbol} at ${checkpoint.eventId} holds ${header.symbol} at ${header.eventId}`);
  }
  return { header, holders };
}

interface MergeStats { holders: number; total: bigint }

/**
 * The checkpoint's holders with the replay's changes applied, in holder-line order: a merge of two
 * sorted sequences (the file, and the touched accounts sorted), so memory is the touched accounts.
 */
async function* merged(base: AsyncIterable<LedgerHolder>, deltas: Map<string, bigint>, stats: MergeStats): AsyncGenerator<LedgerHolder> {
  const touched = [...deltas.keys()].sort(compareLedgerAccounts);
  let i = 0;
  const settle = (account: string, balance: bigint): LedgerHolder | null => {
    if (balance < 0n) throw new Error(`the log takes ${account} below zero`);
    if (balance === 0n) return null;
    stats.holders += 1;
    stats.total += balance;
    return { account, balance: String(balance) };
  };
  for await (const holder of base) {
    for (; i < touched.length && compareLedgerAccounts(touched[i]!, holder.account) < 0; i++) {
      const out = settle(touched[i]!, deltas.get(touched[i]!)!);
      if (out) yield out;
    }
    let balance = BigInt(holder.balance);
    if (touched[i] === holder.account) balance += deltas.get(touched[i++]!)!;
    const out = settle(holder.account, balance);
    if (out) yield out;
  }
  for (; i < touched.length; i++) {
    const out = settle(touched[i]!, deltas.get(touched[i]!)!);
    if (out) yield out;
  }
}

/** Token parameters and supplies at the event id, from the checkpoint's header or the init entry. */
function supplies(symbol: string, header: LedgerSnapshotHeader | null, r: Replay) {
  const base = header ?? (r.init && { ...r.init, circulatingSupply: r.init.totalSupply });
  if (!base) throw new Error(`the log of ${symbol} has no init entry before the point asked for`);
  return { name: base.name, decimals: base.decimals, totalSupply: base.totalSupply, circulatingSupply: BigInt(base.circulatingSupply) - r.burned };
}

export interface LedgerSnapshotBytes {
  chunks: AsyncIterable<Uint8Array>;
  /** Final once `chunks` has been read to its end. */
  stats: MergeStats;
}

/**
 * The ledger snapshot of `symbol` at `eventId` (an id resolveAt gave): the replay runs first
 * (`onProgress` gets the fraction of the time span between the start and the event id done),
 * then `chunks` streams the bytes; reading them to the end checks that the holders add up to the
 * circulating supply.
 */
export async function ledgerSnapshot(redis: RedisConnection, symbol: string, eventId: string, checkpoint: LedgerCheckpoint | null,
  onProgress?: (fraction: number) => void | Promise<void>, archive: LogArchive | null = null): Promise<LedgerSnapshotBytes> {
  const { header, holders } = await openCheckpoint(symbol, eventId, checkpoint);
  const startMs = Number((header?.eventId ?? '0-0').split('-')[0]);
  const endMs = Number(eventId.split('-')[0]);
  const r = await replay(redis, symbol, header?.eventId ?? null, eventId, {
    archive,
    onPage: (lastId) => onProgress?.(endMs > startMs ? (Number(lastId.split('-')[0]) - startMs) / (endMs - startMs) : 1),
  });
  const token = supplies(symbol, header, r);
  const stats: MergeStats = { holders: 0, total: 0n };
  const line = ledgerHeaderLine({ symbol, eventId, name: token.name, decimals: token.decimals, totalSupply: token.totalSupply, circulatingSupply: String(token.circulatingSupply) });
  const checked = (async function* () {
    yield* merged(holders, r.deltas, stats);
    if (stats.total !== token.circulatingSupply) throw new Error(`the holders of ${symbol} at ${eventId} add up to ${stats.total}, not the circulating supply ${token.circulatingSupply}`);
  })();
  return { chunks: encodeLines(checked, line), stats };
}

/** One account's balance at `eventId`, replaying at most `entriesMax` entries after the checkpoint. */
export async function balanceAt(redis: RedisConnection, symbol: string, account: string, eventId: string, checkpoint: LedgerCheckpoint | null, entriesMax: number,
  archive: LogArchive | null = null): Promise<string> {
  const r = await replay(redis, symbol, checkpoint?.eventId ?? null, eventId, { entriesMax, account, archive });
  const { holders } = await openCheckpoint(symbol, eventId, checkpoint);
  let balance = r.deltas.get(account) ?? 0n;
  for await (const holder of holders) {
    const order = compareLedgerAccounts(holder.account, account);
    if (order === 0) balance += BigInt(holder.balance);
    if (order >= 0) break; // the file is sorted: the account is not further on
  }
  if (balance < 0n) throw new Error(`the log takes ${account} below zero at ${eventId}`);
  return String(balance);
}

/** ledger_top's order: balance descending, ties by account ascending. */
export function byRank(a: LedgerHolder, b: LedgerHolder): number {
  const [x, y] = [BigInt(a.balance), BigInt(b.balance)];
  return x === y ? (a.account < b.account ? -1 : a.account > b.account ? 1 : 0) : x > y ? -1 : 1;
}

/** The top `limit` holders at `eventId` in ledger_top's order; memory: 2 * limit plus the touched accounts. */
export async function topAt(redis: RedisConnection, symbol: string, eventId: string, checkpoint: LedgerCheckpoint | null, limit: number, entriesMax: number,
  archive: LogArchive | null = null): Promise<LedgerHolder[]> {
  const r = await replay(redis, symbol, checkpoint?.eventId ?? null, eventId, { entriesMax, archive });
  const { holders } = await openCheckpoint(symbol, eventId, checkpoint);
  let top: LedgerHolder[] = [];
  for await (const holder of merged(holders, r.deltas, { holders: 0, total: 0n })) {
    top.push(holder);
    if (top.length >= 2 * limit) top = top.sort(byRank).slice(0, limit);
  }
  return top.sort(byRank).slice(0, limit);
}

/**
 * How many log entries follow `after` (null: all of them), counting at most `max`, and the id of
 * the last one counted (null: none). Pages of the log; O(max) entries read.
 */
export async function entriesAfter(redis: RedisConnection, symbol: string, after: string | null, max: number, archive: LogArchive | null = null): Promise<{ count: number; lastId: string | null }> {
  let count = 0;
  let lastId: string | null = null;
  if (max <= 0) return { count, lastId };
  for await (const page of readLog(redis, symbol, after, '+', { archive, pageEntries: () => Math.min(logPageEntries, max - count) })) {
    const taken = page.slice(0, max - count);
    count += taken.length;
    if (taken.length > 0) lastId = taken.at(-1)!.id;
    if (count >= max) break;
  }
  return { count, lastId };
}
