// The ledger bound to one Redis connection: what the HTTP layer, the CLI and the realtime relay
// are given. Each method is the function of the same name in functions.ts.
import type { RedisConnection } from '../connections.ts';
import * as fn from './functions.ts';
import { auditToken } from './audit.ts';
import * as history from './history.ts';
import { holdersPage, type HoldersCursor } from './holders.ts';
import { listTokens } from './tokens.ts';

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
    audit: (symbol: string) => auditToken(redis, symbol),
    listTokens: (query: { cursor?: string; limit: number; prefix?: string }) => listTokens(redis, query),
    // The token's past (history.ts): the event id an `at` stands for, then reads as of it.
    resolveAt: (symbol: string, at?: string) => history.resolveAt(redis, symbol, at),
    snapshotAt: (symbol: string, eventId: string, checkpoint: history.LedgerCheckpoint | null, onProgress?: (fraction: number) => void | Promise<void>) =>
      history.ledgerSnapshot(redis, symbol, eventId, checkpoint, onProgress),
    balanceAt: (symbol: string, account: string, eventId: string, checkpoint: history.LedgerCheckpoint | null, entriesMax: number) =>
      history.balanceAt(redis, symbol, account, eventId, checkpoint, entriesMax),
    entriesAfter: (symbol: string, after: string | null, max: number) => history.entriesAfter(redis, symbol, after, max),
    topAt: (symbol: string, eventId: string, checkpoint: history.LedgerCheckpoint | null, limit: number, entriesMax: number) =>
      history.topAt(redis, symbol, eventId, checkpoint, limit, entriesMax),
  };
}

export type Ledger = ReturnType<typeof createLedger>;
