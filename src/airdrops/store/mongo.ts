// The airdrop store on MongoDB (used when MONGODB_URL is set). Semantics: airdrop-store.ts.
// Collection `airdrops`: one document per record, dates as BSON dates (returned as ISO strings),
// plus `idempotencyKey` and `fingerprint` that reads never return. A unique partial index on
// idempotencyKey makes a key name one airdrop; updates are compare-and-set on (status, chunksDone).
import type { Collection, Db, Filter, MongoClient } from 'mongodb';
import { connectMongo } from '../../connections.ts';
import { encodeCursor, idTimeMs, newId, type Page } from '../../snapshots/store/metadata-store.ts';
import { AirdropKeyConflictError } from '../errors.ts';
import {
  AirdropNotFoundError, airdropRecordFields, buildAirdropRecord, checkAirdropQuery, planAirdropUpdate, StaleProgressError, withAirdropChecks,
  type AirdropQuery, type AirdropRecord, type AirdropStore, type IdempotencyClaim, type NewAirdrop,
} from './airdrop-store.ts';

export interface MongoAirdropStoreOptions {
  url?: string;
  /** Or an open database (the caller then owns the client). */
  db?: Db;
  collection?: string;
  connectTimeoutMs?: number;
  ensureIndexes?: boolean;
}

const connectTimeoutMsDefault = 5_000;
const updateAttemptsMax = 5;
const dateFields = ['createdAt', 'startedAt', 'finishedAt', 'chunkStartedAt', 'chunkSentAt'] as const;
const duplicateKeyCode = 11000;

type AirdropDoc = Omit<AirdropRecord, (typeof dateFields)[number]> & {
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  chunkStartedAt: Date | null;
  chunkSentAt: Date | null;
  idempotencyKey?: string;
  fingerprint?: string;
};

const projection = { _id: 0, idempotencyKey: 0, fingerprint: 0 } as const;

function toDoc(fields: Partial<AirdropRecord>): Partial<AirdropDoc> {
  const doc: Record<string, unknown> = { ...fields };
  for (const field of dateFields) {
    const value = fields[field];
    if (typeof value === 'string') doc[field] = new Date(value);
  }
  return doc as Partial<AirdropDoc>;
}

function fromDoc(doc: AirdropDoc): AirdropRecord {
  const record: Record<string, unknown> = {};
  for (const field of airdropRecordFields) {
    const value = (doc as Record<string, unknown>)[field];
    record[field] = value instanceof Date ? value.toISOString() : value ?? null;
  }
  return record as unknown as AirdropRecord;
}

interface Ctx { client: MongoClient | null; db: Db; airdrops: Collection<AirdropDoc> }

async function openStore(options: MongoAirdropStoreOptions): Promise<Ctx> {
  let client: MongoClient | null = null;
  let db = options.db;
  if (!db) {
    if (!options.url) throw new Error('createMongoAirdropStore needs url or db');
    client = await connectMongo(options.url, options.connectTimeoutMs ?? connectTimeoutMsDefault);
    db = client.db();
  }
  const airdrops = db.collection<AirdropDoc>(options.collection ?? 'airdrops');
  try {
    if (options.ensureIndexes ?? true) {
      await airdrops.createIndexes([
        { key: { airdropId: 1 }, name: 'airdropId_unique', unique: true },
        { key: { idempotencyKey: 1 }, name: 'idempotencyKey_unique', unique: true, partialFilterExpression: { idempotencyKey: { $type: 'string' } } },
        { key: { createdAt: -1, airdropId: -1 }, name: 'createdAt' },
        { key: { symbol: 1, createdAt: -1, airdropId: -1 }, name: 'symbol_createdAt' },
      ]);
    }
  } catch (error) {
    await client?.close();
    throw error;
  }
  return { client, db, airdrops };
}

async function readRecord(ctx: Ctx, airdropId: string): Promise<AirdropRecord | null> {
  const doc = await ctx.airdrops.findOne({ airdropId }, { projection });
  return doc === null ? null : fromDoc(doc as AirdropDoc);
}

async function findByKey(ctx: Ctx, key: string): Promise<{ airdropId: string; fingerprint: string } | null> {
  const doc = await ctx.airdrops.findOne({ idempotencyKey: key }, { projection: { _id: 0, airdropId: 1, fingerprint: 1 } });
  return doc === null ? null : { airdropId: doc.airdropId, fingerprint: doc.fingerprint ?? '' };
}

async function createRecord(ctx: Ctx, input: NewAirdrop, claim?: IdempotencyClaim): Promise<{ record: AirdropRecord; created: boolean }> {
  const { id, ms } = newId();
  const record = buildAirdropRecord(input, id, new Date(ms).toISOString());
  try {
    await ctx.airdrops.insertOne({ ...toDoc(record), ...(claim ? { idempotencyKey: claim.key, fingerprint: claim.fingerprint } : {}) } as AirdropDoc);
    return { record, created: true };
  } catch (error) {
    if (!claim || (error as { code?: number }).code !== duplicateKeyCode) throw error;
    const earlier = await findByKey(ctx, claim.key);
    if (earlier === null) throw error;
    if (earlier.fingerprint !== claim.fingerprint) throw new AirdropKeyConflictError(earlier.airdropId);
    const existing = await readRecord(ctx, earlier.airdropId);
    if (existing === null) throw new AirdropNotFoundError(earlier.airdropId);
    return { record: existing, created: false };
  }
}

async function updateRecord(ctx: Ctx, airdropId: string, patch: Parameters<AirdropStore['update']>[1], options: Parameters<AirdropStore['update']>[2] = {}): Promise<AirdropRecord> {
  for (let attempt = 0; attempt < updateAttemptsMax; attempt++) {
    const current = await readRecord(ctx, airdropId);
    if (current === null) throw new AirdropNotFoundError(airdropId);
    const plan = planAirdropUpdate(current, patch, new Date().toISOString(), options);
    const set: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(toDoc(plan.changes))) set[field] = value;
    const result = await ctx.airdrops.updateOne({ airdropId, status: plan.from, chunksDone: current.chunksDone }, { $set: set });
    if (result.matchedCount === 1) return plan.next;
    if (options.expectChunksDone !== undefined) throw new StaleProgressError(airdropId);
  }
  throw new StaleProgressError(airdropId);
}

async function listRecords(ctx: Ctx, query: AirdropQuery = {}): Promise<Page<AirdropRecord>> {
  const q = checkAirdropQuery(query);
  const filter: Filter<AirdropDoc> = {};
  if (q.symbol !== undefined) filter.symbol = q.symbol;
  if (q.status !== undefined) filter.status = q.status;
  if (q.afterId !== null) {
    filter.createdAt = { $lte: new Date(idTimeMs(q.afterId)) };
    filter.airdropId = { $lt: q.afterId };
  }
  const docs = await ctx.airdrops.find(filter, { projection }).sort({ createdAt: -1, airdropId: -1 }).limit(q.limit + 1).toArray();
  const rows = docs.map((d) => fromDoc(d as AirdropDoc));
  if (rows.length <= q.limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, q.limit);
  return { items, nextCursor: encodeCursor(items[q.limit - 1]!.airdropId) };
}

export async function createMongoAirdropStore(options: MongoAirdropStoreOptions): Promise<AirdropStore> {
  const ctx = await openStore(options);
  return withAirdropChecks({
    create: (input, claim) => createRecord(ctx, input, claim),
    findByKey: (key) => findByKey(ctx, key),
    get: (id) => readRecord(ctx, id),
    update: (id, patch, updateOptions) => updateRecord(ctx, id, patch, updateOptions),
    list: (query) => listRecords(ctx, query),
    async ping() { await ctx.db.command({ ping: 1 }); },
    async close() { await ctx.client?.close(); },
  });
}
