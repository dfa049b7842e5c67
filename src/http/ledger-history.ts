// History over REST (docs/rest.md, History): `POST /v1/snapshots {"ledgerToken", "at"?}` (admin: a
// ledger snapshot reveals every balance, where GET balances answers only the account itself or an
// admin), the content of a ledger snapshot (admin, for the same reason), and the `?at=` form of
// GET /tokens/:sym/balances/:account and GET /tokens/:sym/holders (the same rules as without it).
//
// An as-of read resolves `at` to an event id, takes the nearest earlier ledger snapshot as its
// checkpoint and replays at most `entriesMax` log entries after it (from the archived segments
// for what a trimmed log no longer holds: archiveOf). Beyond that it answers 409
// HISTORY_TOO_FAR and requests a ledger snapshot at that event id (unless one is already queued
// or running for the token), so the same request succeeds once it completes (or, when the pending
// one was short of it, after one more round).
import type { RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { Ledger } from '../ledger/client.ts';
import { HistoryTooFarError, type LedgerCheckpoint } from '../ledger/history.ts';
import { createLogArchive } from '../ledger/log-archive.ts';
import type { LogArchive } from '../ledger/log-segments.ts';
import { holdersRankMax, slicePage, type HoldersCursor } from '../ledger/holders.ts';
import { hasPendingLedgerSnapshot, isLedgerRecord, nearestCheckpoint } from '../snapshots/ledger-snapshots.ts';
import type { SnapshotService } from '../snapshots/service.ts';
import type { IpfsStore } from '../snapshots/ipfs-store.ts';
import type { SnapshotRecord, SnapshotStore } from '../snapshots/store/metadata-store.ts';
import { callerOf } from './auth.ts';
import { HttpError } from './errors.ts';
import { atQuerySchema, parse, symbolSchema } from './schemas.ts';

/** Who requests the checkpoints that as-of reads ask for (a record's requestedBy). */
export const historyRequester = 'tally-history';
/** HISTORY_REPLAY_ENTRIES_MAX's default (src/config.ts), for apps built without that section. */
export const historyReplayEntriesMaxDefault = 20_000;

export const ledgerSnapshotBody = z.strictObject({ ledgerToken: symbolSchema, at: atQuerySchema.optional() });

/** A POST /v1/snapshots body that asks for a ledger snapshot (it names `ledgerToken`). */
export const isLedgerSnapshotRequest = (body: unknown): boolean => typeof body === 'object' && body !== null && Object.hasOwn(body, 'ledgerToken');

const requireAdminCaller = (res: Response, what: string) => {
  if (!callerOf(res).admin) throw new HttpError('FORBIDDEN', `${what} reveals every balance of the token: it needs the admin role`);
};

/** POST /v1/snapshots with `ledgerToken`: 202 {snapshotId, jobId, eventId}. */
export function requestLedgerSnapshot(service: SnapshotService): RequestHandler {
  return async (req, res) => {
    requireAdminCaller(res, 'a ledger snapshot');
    const body = parse('body', ledgerSnapshotBody, req.body);
    const { snapshotId, jobId, record } = await service.requestLedger({ ledgerToken: body.ledgerToken, requestedBy: callerOf(res).account, ...(body.at !== undefined ? { at: body.at } : {}) });
    res.status(202).location(`/v1/snapshots/${snapshotId}`).json({ snapshotId, jobId, eventId: record.requestedTimestamp });
  };
}

/** Throws 403 unless the caller may read this record's content (a ledger snapshot: admins only). */
export function requireContentReader(res: Response, record: SnapshotRecord): void {
  if (isLedgerRecord(record)) requireAdminCaller(res, 'the content of a ledger snapshot');
}

export interface AsOfDeps {
  ledger: Ledger;
  /** Where checkpoints come from (the ledger snapshots), and how to ask for one; absent: every read replays from init. */
  checkpoints?: { store: SnapshotStore; ipfs: IpfsStore; request?: (symbol: string, eventId: string) => Promise<unknown> };
  entriesMax: number;
}

/** The archived log segments of the metadata store, their bytes read from IPFS. */
export function archiveOf(where: { store: SnapshotStore; ipfs: IpfsStore }): LogArchive {
  return createLogArchive({
    getLogSegment: (symbol, index) => where.store.getLogSegment(symbol, index),
    lastLogSegment: (symbol) => where.store.lastLogSegment(symbol),
    cat: (cid) => where.ipfs.cat(cid),
  });
}

/** Checkpoints from the snapshot service; a refused read requests one unless a ledger snapshot of the token is pending. */
export function serviceCheckpoints(service: SnapshotService): NonNullable<AsOfDeps['checkpoints']> {
  return {
    store: service.store, ipfs: service.ipfs,
    request: async (symbol, eventId) => {
      if (await hasPendingLedgerSnapshot(service.store, symbol)) return;
      await service.requestLedger({ ledgerToken: symbol, at: eventId, requestedBy: historyRequester });
    },
  };
}

/** Resolves `at`, finds the checkpoint, reads; on HISTORY_TOO_FAR first requests a nearer checkpoint. */
async function asOf<T>(deps: AsOfDeps, symbol: string, at: string,
  read: (eventId: string, checkpoint: LedgerCheckpoint | null, archive: LogArchive | null) => Promise<T>): Promise<{ eventId: string; value: T }> {
  const { checkpoints } = deps;
  const archive = checkpoints ? archiveOf(checkpoints) : null;
  const eventId = await deps.ledger.resolveAt(symbol, at, archive);
  const checkpoint = checkpoints ? await nearestCheckpoint(checkpoints.store, checkpoints.ipfs, symbol, eventId) : null;
  try {
    return { eventId, value: await read(eventId, checkpoint, archive) };
  } catch (error) {
    if (error instanceof HistoryTooFarError) await checkpoints?.request?.(symbol, eventId);
    throw error;
  }
}

export function createAsOf(deps: AsOfDeps) {
  return {
    /** `{account, balance, eventId}` as of `at`. */
    balance: async (symbol: string, account: string, at: string) => {
      const { eventId, value } = await asOf(deps, symbol, at, (id, checkpoint, archive) => deps.ledger.balanceAt(symbol, account, id, checkpoint, deps.entriesMax, archive));
      return { account, balance: value, eventId };
    },
    /** One page of the holders as of `at`, paged like the live holders (the cursor of a page at the same event id). */
    holders: async (symbol: string, at: string, query: { limit: number; after?: HoldersCursor }) => {
      const fetchCount = Math.min(holdersRankMax, (query.after?.ranked ?? 0) + query.limit + 1);
      const { eventId, value } = await asOf(deps, symbol, at, (id, checkpoint, archive) => deps.ledger.topAt(symbol, id, checkpoint, fetchCount, deps.entriesMax, archive));
      return { ...slicePage(value, query.limit, query.after), eventId };
    },
  };
}

export type AsOf = ReturnType<typeof createAsOf>;
