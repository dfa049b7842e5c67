// The ledger bound to one Redis connection: what the HTTP layer, the CLI and the realtime relay
// are given. Each method is the function of the same name in functions.ts.
import type { RedisConnection } from '../connections.ts';
import * as fn from './functions.ts';
import { auditToken, type AuditOptions } from './audit.ts';
import * as history from './history.ts';
import { buildSegment, inspectSegment, type SegmentLink } from './log-archive.ts';
import { logMarks, type LogArchive, type LogEntry } from './log-segments.ts';
import { holdersPage, type HoldersCursor } from './holders.ts';
import { listTokens } from './tokens.ts';
import { tokenKeys } from './keys.ts';

export function createLedger(redis: RedisConnection) {
  return {
    init: (symbol: string, token: fn.TokenParams) => fn.init(redis, symbol, token),
    info: (symbol: string) => fn.info(redis, symbol),
    balance: (symbol: string, account: string) => fn.balance(redis, symbol, account),
    supply: (symbol: string) => fn.supply(redis, symbol),
    transfer: (symbol: string, leg: fn.TransferLeg & { opId?: string }) => fn.transfer(redis, symbol, leg),
    burn: (symbol: string, burn: { account: string; amount: string; opId?: string }) => fn.burn(redis, symbol, burn),
    transferBatch: (symbol: string, batch: { legs: fn.TransferLeg[]; opId?: string }) => fn.transferBatch(redis, symbol, batch),
    top: (symbol: string, limit: number) => fn.top(redis, symbol, limit),
    holdersPage: (symbol: string, query: { limit: number; after?: HoldersCursor }) => holdersPage(redis, symbol, query),
    events: (symbol: string, query: { after?: string; count: number; account?: string }) => fn.events(redis, symbol, query),
    version: () => fn.version(redis),
    audit: (symbol: string, options: AuditOptions = {}) => auditToken(redis, symbol, options),
    listTokens: (query: { cursor?: string; limit: number; prefix?: string }) => listTokens(redis, query),
    // The token's past (history.ts): the event id an `at` stands for, then reads as of it. `archive`
    // serves the entries a trimmed log no longer holds (log-archive.ts createLogArchive).
    resolveAt: (symbol: string, at?: string, archive: LogArchive | null = null) => history.resolveAt(redis, symbol, at, archive),
    snapshotAt: (symbol: string, eventId: string, checkpoint: history.LedgerCheckpoint | null, onProgress?: (fraction: number) => void | Promise<void>, archive: LogArchive | null = null) =>
      history.ledgerSnapshot(redis, symbol, eventId, checkpoint, onProgress, archive),
    balanceAt: (symbol: string, account: string, eventId: string, checkpoint: history.LedgerCheckpoint | null, entriesMax: number, archive: LogArchive | null = null) =>
      history.balanceAt(redis, symbol, account, eventId, checkpoint, entriesMax, archive),
    entriesAfter: (symbol: string, after: string | null, max: number, archive: LogArchive | null = null) => history.entriesAfter(redis, symbol, after, max, archive),
    topAt: (symbol: string, eventId: string, checkpoint: history.LedgerCheckpoint | null, limit: number, entriesMax: number, archive: LogArchive | null = null) =>
      history.topAt(redis, symbol, eventId, checkpoint, limit, entriesMax, archive),
    // Archiving the log (log-archive.ts; the job is src/snapshots/log-archives.ts).
    logLength: (symbol: string) => redis.xLen(tokenKeys(symbol).log).then(Number),
    logMarks: (symbol: string) => logMarks(redis, symbol),
    logSegment: (symbol: string, link: SegmentLink, entries: number) => buildSegment(redis, symbol, link, entries),
    inspectSegment: (content: AsyncIterable<Uint8Array>, onEntry?: (entry: LogEntry) => void) => inspectSegment(content, onEntry),
    logArchived: (symbol: string, lastId: string) => fn.logArchived(redis, symbol, lastId),
    logTrim: (symbol: string, upToId: string) => fn.logTrim(redis, symbol, upToId),
  };
}

export type Ledger = ReturnType<typeof createLedger>;
