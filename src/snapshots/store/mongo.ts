// The snapshot metadata store on MongoDB (used when MONGODB_URL is set). Semantics: see
// metadata-store.ts; the same contract tests run against it whenever MONGODB_URL is set.
//
// Collection `snapshots`: one document per record, dates stored as BSON dates and returned as
// ISO strings, plus a `checkpoint` sub-document that reads never return (projection) and that
// the transition to `completed` unsets in the same updateOne. Collection `snapshotSchedules`:
// the schedules. Status changes are compare-and-set on the status (updateOne filtered by the
// status the change was planned from), retried a few times when the status moved meanwhile.
// Lists sort by (createdAt, snapshotId) descending; since an id begins with its creation ms,
// a cursor (the last id) bounds both fields. Collection `logSegments`: a ledger token's archived
// log segments, unique on (symbol, index); a segment is inserted only after the last one (the
// unique index turns a race into a duplicate-key error, then re-planned).
import type { Collection, Db, Filter, MongoClient } from 'mongodb';
import { connectMongo } from '../../connections.ts';
import {
  buildLogSegment, planLogSegment, type LogSegmentRecord, type NewLogSegment,
  buildCheckpoint, CheckpointRefusedError, buildRecord, buildSchedule, checkQuery, checkScheduleQuery, ConcurrentUpdateError,
  encodeCursor, idTimeMs, newId, planUpdate, SnapshotNotFoundError, withIdChecks,
  type NewSchedule, type NewSnapshot, type Page, type ScheduleQuery, type ScheduleRecord, type SnapshotCheckpoint,
  type SnapshotCheckpointInput, type SnapshotPatch, type SnapshotQuery, type SnapshotRecord, type SnapshotStore,
} from './metadata-store.ts';

export interface MongoSnapshotStoreOptions {
  /** A connection string; the database is the one it names (or `tally`). */
  url?: string;
  /** Or an open database (the caller then owns the client). */
  db?: Db;
  snapshotsCollection?: string;
  schedulesCollection?: string;
  logSegmentsCollection?: string;
  /** Server selection and connect timeout. Default 5 s. */
  connectTimeoutMs?: number;
  /** Create the indexes the queries need. Default true. */
  ensureIndexes?: boolean;
}

const connectTimeoutMsDefault = 5_000;
const updateAttemptsMax = 5;
const dateFields = ['createdAt', 'startedAt', 'finishedAt'] as const;

type SnapshotDoc = Omit<SnapshotRecord, 'createdAt' | 'startedAt' | 'finishedAt'> & {
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  checkpoint?: SnapshotCheckpoint;
};
type ScheduleDoc = Omit<ScheduleRecord, 'createdAt'> & { createdAt: Date };

const recordProjection = { _id: 0, checkpoint: 0 } as const;

function toDoc(fields: Partial<SnapshotRecord>): Partial<SnapshotDoc> {
  const doc: Record<string, unknown> = { ...fields };
  for (const field of dateFields) {
    const value = fields[field];
    if (typeof value === 'string') doc[field] = new Date(value);
  }
  return doc as Partial<SnapshotDoc>;
}

function fromDoc(doc: SnapshotDoc): SnapshotRecord {
  return {
    snapshotId: doc.snapshotId,
    tokenId: doc.tokenId,
    network: doc.network,
    requestedTimestamp: doc.requestedTimestamp ?? null,
    consensusTimestamp: doc.consensusTimestamp ?? null,
    status: doc.status,
    progress: doc.progress,
    holders: doc.holders ?? null,
    totalBalance: doc.totalBalance ?? null,
    cid: doc.cid ?? null,
    bytes: doc.bytes ?? null,
    requestedBy: doc.requestedBy ?? null,
    scheduleId: doc.scheduleId ?? null,
    attempts: doc.attempts,
    error: doc.error ?? null,
    createdAt: doc.createdAt.toISOString(),
    startedAt: doc.startedAt ? doc.startedAt.toISOString() : null,
    finishedAt: doc.finishedAt ? doc.finishedAt.toISOString() : null,
    filters: doc.filters ?? null,
    merkle: doc.merkle ?? null,
    combination: doc.combination ?? null,
  };
}

const fromScheduleDoc = (doc: ScheduleDoc): ScheduleRecord => ({
  id: doc.id, tokenId: doc.tokenId, every: doc.every, createdBy: doc.createdBy, createdAt: doc.createdAt.toISOString(),
  filters: doc.filters ?? null, combination: doc.combination ?? null,
});

/** Items plus one more tell whether there is a next page. */
function toPage<T>(rows: T[], limit: number, idOf: (item: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(idOf(items[limit - 1]!)) };
}

async function ensureIndexes(snapshots: Collection<SnapshotDoc>, schedules: Collection<ScheduleDoc>): Promise<void> {
  await snapshots.createIndexes([
    { key: { snapshotId: 1 }, name: 'snapshotId_unique', unique: true },
    { key: { createdAt: -1, snapshotId: -1 }, name: 'createdAt' },
    { key: { tokenId: 1, createdAt: -1, snapshotId: -1 }, name: 'tokenId_createdAt' },
    { key: { status: 1, createdAt: -1, snapshotId: -1 }, name: 'status_createdAt' },
    { key: { requestedBy: 1, createdAt: -1, snapshotId: -1 }, name: 'requestedBy_createdAt' },
  ]);
  await schedules.createIndexes([
    { key: { id: 1 }, name: 'id_unique', unique: true },
    { key: { tokenId: 1, id: -1 }, name: 'tokenId_id' },
  ]);
}

interface Ctx {
  client: MongoClient | null;
  db: Db;
  snapshots: Collection<SnapshotDoc>;
  schedules: Collection<ScheduleDoc>;
  logSegments: Collection<LogSegmentRecord>;
}

/** Connects (unless given a database) and makes the indexes; closes what it opened on failure. */
async function openStore(options: MongoSnapshotStoreOptions): Promise<Ctx> {
  const timeoutMs = options.connectTimeoutMs ?? connectTimeoutMsDefault;
  let client: MongoClient | null = null;
  let db = options.db;
  if (!db) {
    if (!options.url) throw new Error('createMongoSnapshotStore needs url or db');
    client = await connectMongo(options.url, timeoutMs);
    db = client.db();
  }
  const snapshots = db.collection<SnapshotDoc>(options.snapshotsCollection ?? 'snapshots');
  const schedules = db.collection<ScheduleDoc>(options.schedulesCollection ?? 'snapshotSchedules');
  const logSegments = db.collection<LogSegmentRecord>(options.logSegmentsCollection ?? 'logSegments');
  try {
    if (options.ensureIndexes ?? true) {
      await ensureIndexes(snapshots, schedules);
      await logSegments.createIndexes([{ key: { symbol: 1, index: 1 }, name: 'symbol_index_unique', unique: true }]);
    }
  } catch (error) {
    await client?.close();
    throw error;
  }
  return { client, db, snapshots, schedules, logSegments };
}

async function readRecord(ctx: Ctx, snapshotId: string): Promise<SnapshotRecord | null> {
  const doc = await ctx.snapshots.findOne({ snapshotId }, { projection: recordProjection });
  return doc === null ? null : fromDoc(doc as SnapshotDoc);
}

async function createRecord(ctx: Ctx, input: NewSnapshot): Promise<SnapshotRecord> {
  const { id, ms } = newId();
  const record = buildRecord(input, id, new Date(ms).toISOString());
  await ctx.snapshots.insertOne(toDoc(record) as SnapshotDoc);
  return record;
}

async function updateRecord(ctx: Ctx, snapshotId: string, patch: SnapshotPatch): Promise<SnapshotRecord> {
  for (let attempt = 0; attempt < updateAttemptsMax; attempt++) {
    const current = await readRecord(ctx, snapshotId);
    if (current === null) throw new SnapshotNotFoundError(snapshotId);
    const plan = planUpdate(current, patch, new Date().toISOString());
    const update = plan.deleteCheckpoint
      ? { $set: toDoc(plan.changes), $unset: { checkpoint: '' as const } }
      : { $set: toDoc(plan.changes) };
    const result = await ctx.snapshots.updateOne({ snapshotId, status: plan.from }, update);
    if (result.matchedCount === 1) return plan.next;
  }
  throw new ConcurrentUpdateError(snapshotId);
}

async function listRecords(ctx: Ctx, query: SnapshotQuery = {}): Promise<Page<SnapshotRecord>> {
  const q = checkQuery(query);
  const filter: Filter<SnapshotDoc> = {};
  if (q.tokenId !== undefined) filter.tokenId = q.tokenId;
  if (q.status !== undefined) filter.status = q.status;
  if (q.requestedBy !== undefined) filter.requestedBy = q.requestedBy;
  if (q.afterId !== null) {
    filter.createdAt = { $lte: new Date(idTimeMs(q.afterId)) };
    filter.snapshotId = { $lt: q.afterId };
  }
  const docs = await ctx.snapshots.find(filter, { projection: recordProjection })
    .sort({ createdAt: -1, snapshotId: -1 }).limit(q.limit + 1).toArray();
  return toPage(docs.map((d) => fromDoc(d as SnapshotDoc)), q.limit, (r) => r.snapshotId);
}

async function saveCheckpoint(ctx: Ctx, snapshotId: string, input: SnapshotCheckpointInput): Promise<SnapshotCheckpoint> {
  const { checkpoint } = buildCheckpoint(input, new Date().toISOString());
  const result = await ctx.snapshots.updateOne({ snapshotId, status: { $ne: 'completed' } }, { $set: { checkpoint } });
  if (result.matchedCount === 1) return checkpoint;
  if (await ctx.snapshots.countDocuments({ snapshotId }, { limit: 1 }) === 0) throw new SnapshotNotFoundError(snapshotId);
  throw new CheckpointRefusedError(snapshotId);
}

async function getCheckpoint(ctx: Ctx, snapshotId: string): Promise<SnapshotCheckpoint | null> {
  const doc = await ctx.snapshots.findOne({ snapshotId }, { projection: { _id: 0, checkpoint: 1 } });
  return doc?.checkpoint ?? null;
}

async function createSchedule(ctx: Ctx, input: NewSchedule): Promise<ScheduleRecord> {
  const { id, ms } = newId();
  const schedule = buildSchedule(input, id, new Date(ms).toISOString());
  await ctx.schedules.insertOne({ ...schedule, createdAt: new Date(ms) });
  return schedule;
}

async function getSchedule(ctx: Ctx, id: string): Promise<ScheduleRecord | null> {
  const doc = await ctx.schedules.findOne({ id }, { projection: { _id: 0 } });
  return doc === null ? null : fromScheduleDoc(doc as ScheduleDoc);
}

async function listSchedules(ctx: Ctx, query: ScheduleQuery = {}): Promise<Page<ScheduleRecord>> {
  const q = checkScheduleQuery(query);
  const filter: Filter<ScheduleDoc> = {};
  if (q.tokenId !== undefined) filter.tokenId = q.tokenId;
  if (q.afterId !== null) filter.id = { $lt: q.afterId };
  const docs = await ctx.schedules.find(filter, { projection: { _id: 0 } }).sort({ id: -1 }).limit(q.limit + 1).toArray();
  return toPage(docs.map((d) => fromScheduleDoc(d as ScheduleDoc)), q.limit, (s) => s.id);
}

async function getLogSegment(ctx: Ctx, symbol: string, index: number): Promise<LogSegmentRecord | null> {
  return ctx.logSegments.findOne({ symbol, index }, { projection: { _id: 0 } }) as Promise<LogSegmentRecord | null>;
}

async function lastLogSegment(ctx: Ctx, symbol: string): Promise<LogSegmentRecord | null> {
  return ctx.logSegments.findOne({ symbol }, { projection: { _id: 0 }, sort: { index: -1 } }) as Promise<LogSegmentRecord | null>;
}

async function saveLogSegment(ctx: Ctx, input: NewLogSegment): Promise<LogSegmentRecord> {
  const segment = buildLogSegment(input, new Date().toISOString());
  for (let attempt = 0; attempt < updateAttemptsMax; attempt++) {
    const [atIndex, last] = await Promise.all([getLogSegment(ctx, segment.symbol, segment.index), lastLogSegment(ctx, segment.symbol)]);
    if (planLogSegment(segment, atIndex, last) === 'same') return atIndex!;
    try {
      await ctx.logSegments.insertOne({ ...segment });
      return segment;
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error; // a duplicate key: another writer took the index, re-plan
    }
  }
  throw new ConcurrentUpdateError(`log segment ${segment.index} of ${segment.symbol}`);
}

export async function createMongoSnapshotStore(options: MongoSnapshotStoreOptions): Promise<SnapshotStore> {
  const ctx = await openStore(options);
  return withIdChecks({
    create: (input) => createRecord(ctx, input),
    get: (snapshotId) => readRecord(ctx, snapshotId),
    update: (snapshotId, patch) => updateRecord(ctx, snapshotId, patch),
    list: (query) => listRecords(ctx, query),
    saveCheckpoint: (snapshotId, input) => saveCheckpoint(ctx, snapshotId, input),
    getCheckpoint: (snapshotId) => getCheckpoint(ctx, snapshotId),
    async clearCheckpoint(snapshotId) { await ctx.snapshots.updateOne({ snapshotId }, { $unset: { checkpoint: '' } }); },
    createSchedule: (input) => createSchedule(ctx, input),
    getSchedule: (id) => getSchedule(ctx, id),
    listSchedules: (query) => listSchedules(ctx, query),
    async deleteSchedule(id) { return (await ctx.schedules.deleteOne({ id })).deletedCount === 1; },
    saveLogSegment: (segment) => saveLogSegment(ctx, segment),
    getLogSegment: (symbol, index) => getLogSegment(ctx, symbol, index),
    lastLogSegment: (symbol) => lastLogSegment(ctx, symbol),
    async ping() { await ctx.db.command({ ping: 1 }); },
    async close() { await ctx.client?.close(); },
  });
}
