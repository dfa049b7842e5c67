// The snapshot metadata store on Redis (used when MONGODB_URL is unset). Semantics: see
// metadata-store.ts. Key layout, with P the configured prefix (default `tally:snap:`):
//
//   P rec:<snapshotId>            hash    the record; null fields are absent, error is JSON
//   P ckpt:<snapshotId>           string  checkpoint JSON, expires after checkpointTtlMs
//   P idx:all                     zset    every snapshotId, score 0 (ordered by id = by time)
//   P idx:token:<tokenId>         zset    per token
//   P idx:status:<status>         zset    per status; moved in the same script as the status
//   P idx:user:<requestedBy>      zset    per requester
//   P sched:<id>                  hash    a schedule record
//   P sidx:all / sidx:token:<id>  zset    schedules, all and per token
//   P logseg:<SYM>                zset    a ledger token's log segments: score index, member JSON
//
// Every name is built from a validated id (UUIDv7 from the store, a canonical Hedera id, a §3
// account, a status). Lists read the lexicographic indexes newest first (ZRANGE BYLEX REV) in
// bounded batches. On Redis Cluster the prefix must carry a hash tag, e.g. `{tally:snap}:`,
// so every key is in one slot and the MULTI and scripts below are valid; a prefix without one
// is refused for a cluster connection.
import { createHash } from 'node:crypto';
import { isCluster, type RedisConnection } from '../../connections.ts';
import {
  buildLogSegment, planLogSegment, type LogSegmentRecord, type NewLogSegment,
  buildCheckpoint, CheckpointRefusedError, buildRecord, buildSchedule, checkQuery, checkScheduleQuery, ConcurrentUpdateError,
  encodeCursor, jsonRecordFields, jsonScheduleFields, newId, planUpdate, SnapshotNotFoundError, withIdChecks,
  type NewSchedule, type NewSnapshot, type Page, type ScheduleQuery, type ScheduleRecord, type SnapshotCheckpoint,
  type SnapshotCheckpointInput, type SnapshotPatch, type SnapshotQuery, type SnapshotRecord, type SnapshotStatus, type SnapshotStore,
} from './metadata-store.ts';

export interface RedisSnapshotStoreOptions {
  redis: RedisConnection;
  /** Default `tally:snap:`; on a cluster it must contain a hash tag such as `{tally:snap}:`. */
  keyPrefix?: string;
  /** How long an untouched checkpoint survives (orphans of abandoned jobs expire). Default 7 days. */
  checkpointTtlMs?: number;
  /** Whether close() also closes the connection. Default false: the caller owns it. */
  ownsConnection?: boolean;
}

export const defaultKeyPrefix = 'tally:snap:';
const keyPrefixPattern = /^[A-Za-z0-9{}:._-]{1,64}$/;
const hashTagPattern = /\{[^{}]+\}/;
const checkpointTtlMsDefault = 7 * 24 * 3600 * 1000;
/** Index entries read per round trip, and at most per list call. */
const listBatchSize = 100;
const listScanMax = 1_000;
/** Optimistic retries when the status changes between the read and the write of an update. */
const updateAttemptsMax = 5;

// Applies a planned update if the status is still the one it was planned from.
// KEYS[1] record hash, KEYS[2] index of the expected status, KEYS[3] index of the new status,
// KEYS[4] checkpoint. ARGV[1] expected status, ARGV[2] new status, ARGV[3] snapshotId,
// ARGV[4] '1' to delete the checkpoint, ARGV[5] n, ARGV[6..5+2n] field/value pairs to set, the
// rest fields to delete. Reply: 'OK', 'NOT_FOUND' or 'CONFLICT' (status moved; re-plan).
const updateScript = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'NOT_FOUND' end
if status ~= ARGV[1] then return 'CONFLICT' end
local n = tonumber(ARGV[5])
local sets = {}
for i = 6, 5 + 2 * n do sets[#sets + 1] = ARGV[i] end
if #sets > 0 then redis.call('HSET', KEYS[1], unpack(sets)) end
local dels = {}
for i = 6 + 2 * n, #ARGV do dels[#dels + 1] = ARGV[i] end
if #dels > 0 then redis.call('HDEL', KEYS[1], unpack(dels)) end
if ARGV[2] ~= ARGV[1] then
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('ZADD', KEYS[3], 0, ARGV[3])
end
if ARGV[4] == '1' then redis.call('DEL', KEYS[4]) end
return 'OK'
`;

// Stores a checkpoint unless the snapshot is unknown or completed.
// KEYS[1] record hash, KEYS[2] checkpoint. ARGV[1] JSON, ARGV[2] TTL in ms.
// Reply: 'OK', 'NOT_FOUND' or 'COMPLETED'.
const checkpointScript = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'NOT_FOUND' end
if status == 'completed' then return 'COMPLETED' end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 'OK'
`;

// Records a log segment if the chain still ends where it was planned from.
// KEYS[1] the token's segment set. ARGV[1] index, ARGV[2] JSON, ARGV[3] the last index planned
// from (-1: none). Reply: 'OK', 'EXISTS' (the index is taken: re-plan) or 'CONFLICT' (the chain moved).
const logSegmentScript = `
if #redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[1], 'BYSCORE') > 0 then return 'EXISTS' end
local last = redis.call('ZRANGE', KEYS[1], 0, 0, 'REV', 'WITHSCORES')
local last_index = last[2] and tonumber(last[2]) or -1
if last_index ~= tonumber(ARGV[3]) then return 'CONFLICT' end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
return 'OK'
`;

/** A Lua script of a Redis store, with its SHA1 for EVALSHA (the airdrop store uses these too). */
export interface Script { source: string; sha: string }
export const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });
const scripts = { update: script(updateScript), checkpoint: script(checkpointScript), logSegment: script(logSegmentScript) };

/** EVALSHA, falling back to EVAL the first time a server has not seen the script. */
export async function runScript(redis: RedisConnection, s: Script, keys: string[], args: string[]): Promise<string> {
  try {
    return String(await redis.evalSha(s.sha, { keys, arguments: args }));
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return String(await redis.eval(s.source, { keys, arguments: args }));
  }
}

function keysFor(prefix: string) {
  return {
    record: (id: string) => `${prefix}rec:${id}`,
    checkpoint: (id: string) => `${prefix}ckpt:${id}`,
    all: `${prefix}idx:all`,
    token: (tokenId: string) => `${prefix}idx:token:${tokenId}`,
    status: (status: SnapshotStatus) => `${prefix}idx:status:${status}`,
    user: (account: string) => `${prefix}idx:user:${account}`,
    schedule: (id: string) => `${prefix}sched:${id}`,
    schedulesAll: `${prefix}sidx:all`,
    schedulesByToken: (tokenId: string) => `${prefix}sidx:token:${tokenId}`,
    logSegments: (symbol: string) => `${prefix}logseg:${symbol}`,
  };
}

const recordToHash = (fields: Partial<SnapshotRecord>): { set: Record<string, string>; unset: string[] } => {
  const set: Record<string, string> = {};
  const unset: string[] = [];
  for (const [field, value] of Object.entries(fields)) {
    if (value === null || value === undefined) unset.push(field);
    else set[field] = (jsonRecordFields as readonly string[]).includes(field) ? JSON.stringify(value) : String(value);
  }
  return { set, unset };
};

/** Null fields are absent; the option objects are JSON. */
function scheduleToHash(schedule: ScheduleRecord): Record<string, string> {
  const hash: Record<string, string> = {};
  for (const [field, value] of Object.entries(schedule)) {
    if (value !== null) hash[field] = (jsonScheduleFields as readonly string[]).includes(field) ? JSON.stringify(value) : String(value);
  }
  return hash;
}

function hashToRecord(hash: Record<string, string>): SnapshotRecord {
  const text = (field: string) => hash[field] ?? null;
  const count = (field: string) => (hash[field] === undefined ? null : Number(hash[field]));
  const json = <T>(field: string) => (hash[field] === undefined ? null : JSON.parse(hash[field]) as T);
  return {
    snapshotId: hash.snapshotId!,
    tokenId: hash.tokenId!,
    network: hash.network!,
    requestedTimestamp: text('requestedTimestamp'),
    consensusTimestamp: text('consensusTimestamp'),
    status: hash.status as SnapshotStatus,
    progress: Number(hash.progress ?? 0),
    holders: count('holders'),
    totalBalance: text('totalBalance'),
    cid: text('cid'),
    bytes: count('bytes'),
    requestedBy: text('requestedBy'),
    scheduleId: text('scheduleId'),
    attempts: Number(hash.attempts ?? 0),
    error: json<SnapshotRecord['error']>('error'),
    createdAt: hash.createdAt!,
    startedAt: text('startedAt'),
    finishedAt: text('finishedAt'),
    filters: json<SnapshotRecord['filters']>('filters'),
    merkle: json<SnapshotRecord['merkle']>('merkle'),
    combination: json<SnapshotRecord['combination']>('combination'),
  };
}

/**
 * Walks a lexicographic index newest first from after `afterId`, reading each entry's hash,
 * until `limit + 1` entries pass `accept` or listScanMax entries were read. Entries whose hash
 * is gone are skipped. The cursor is null only when the index was read to its end.
 */
export async function scanIndex<T>(
  redis: RedisConnection, index: string, afterId: string | null, limit: number,
  read: (id: string) => Promise<T | null>, accept: (item: T) => boolean, idOf: (item: T) => string,
): Promise<Page<T>> {
  const items: T[] = [];
  let start = afterId === null ? '+' : `(${afterId}`;
  let scanned = 0;
  let lastSeen: string | null = null;
  while (scanned < listScanMax) {
    const count = Math.min(listBatchSize, listScanMax - scanned);
    const ids = (await redis.zRange(index, start, '-', { BY: 'LEX', REV: true, LIMIT: { offset: 0, count } })).map(String);
    const loaded = await Promise.all(ids.map(read));
    for (let i = 0; i < ids.length; i++) {
      scanned += 1;
      lastSeen = ids[i]!;
      const item = loaded[i];
      if (item == null || !accept(item)) continue;
      if (items.length === limit) return { items, nextCursor: encodeCursor(idOf(items[limit - 1]!)) };
      items.push(item);
    }
    if (ids.length < count) return { items, nextCursor: null };
    start = `(${lastSeen}`;
  }
  // The scan bound was reached: everything up to lastSeen has been examined.
  return { items, nextCursor: lastSeen === null ? null : encodeCursor(lastSeen) };
}

interface Ctx {
  redis: RedisConnection;
  key: ReturnType<typeof keysFor>;
  checkpointTtlMs: number;
}

async function readHash(ctx: Ctx, k: string): Promise<Record<string, string> | null> {
  const hash = await ctx.redis.hGetAll(k) as unknown as Record<string, string>;
  return Object.keys(hash).length === 0 ? null : hash;
}

async function readRecord(ctx: Ctx, id: string): Promise<SnapshotRecord | null> {
  const hash = await readHash(ctx, ctx.key.record(id));
  return hash === null ? null : hashToRecord(hash);
}

async function readSchedule(ctx: Ctx, id: string): Promise<ScheduleRecord | null> {
  const hash = await readHash(ctx, ctx.key.schedule(id));
  if (hash === null) return null;
  const json = <T>(field: string) => (hash[field] === undefined ? null : JSON.parse(hash[field]) as T);
  return { id: hash.id!, tokenId: hash.tokenId!, every: hash.every!, createdBy: hash.createdBy!, createdAt: hash.createdAt!,
    filters: json<ScheduleRecord['filters']>('filters'), combination: json<ScheduleRecord['combination']>('combination') };
}

async function createRecord(ctx: Ctx, input: NewSnapshot): Promise<SnapshotRecord> {
  const { redis, key } = ctx;
  const { id, ms } = newId();
  const record = buildRecord(input, id, new Date(ms).toISOString());
  const { set } = recordToHash(record);
  const multi = redis.multi()
    .hSet(key.record(id), set)
    .zAdd(key.all, { score: 0, value: id })
    .zAdd(key.token(record.tokenId), { score: 0, value: id })
    .zAdd(key.status(record.status), { score: 0, value: id });
  if (record.requestedBy !== null) multi.zAdd(key.user(record.requestedBy), { score: 0, value: id });
  await multi.exec();
  return record;
}

async function updateRecord(ctx: Ctx, snapshotId: string, patch: SnapshotPatch): Promise<SnapshotRecord> {
  const { redis, key } = ctx;
  for (let attempt = 0; attempt < updateAttemptsMax; attempt++) {
    const current = await readRecord(ctx, snapshotId);
    if (current === null) throw new SnapshotNotFoundError(snapshotId);
    const plan = planUpdate(current, patch, new Date().toISOString());
    const { set, unset } = recordToHash(plan.changes);
    const pairs = Object.entries(set).flat();
    const reply = await runScript(redis, scripts.update,
      [key.record(snapshotId), key.status(plan.from), key.status(plan.to), key.checkpoint(snapshotId)],
      [plan.from, plan.to, snapshotId, plan.deleteCheckpoint ? '1' : '0', String(pairs.length / 2), ...pairs, ...unset]);
    if (reply === 'OK') return plan.next;
    if (reply === 'NOT_FOUND') throw new SnapshotNotFoundError(snapshotId);
  }
  throw new ConcurrentUpdateError(snapshotId);
}

async function listRecords(ctx: Ctx, query: SnapshotQuery = {}): Promise<Page<SnapshotRecord>> {
  const { key } = ctx;
  const q = checkQuery(query);
  const index = q.tokenId !== undefined ? key.token(q.tokenId)
    : q.requestedBy !== undefined ? key.user(q.requestedBy)
      : q.status !== undefined ? key.status(q.status)
        : key.all;
  // The index narrows by one filter; the record is checked against all of them, so an entry
  // left behind in an index never shows up under the wrong filter.
  const accept = (r: SnapshotRecord) => (q.tokenId === undefined || r.tokenId === q.tokenId)
    && (q.status === undefined || r.status === q.status)
    && (q.requestedBy === undefined || r.requestedBy === q.requestedBy);
  return scanIndex(ctx.redis, index, q.afterId, q.limit, (id) => readRecord(ctx, id), accept, (r) => r.snapshotId);
}

async function saveCheckpoint(ctx: Ctx, snapshotId: string, input: SnapshotCheckpointInput): Promise<SnapshotCheckpoint> {
  const { redis, key } = ctx;
  const { checkpoint, json } = buildCheckpoint(input, new Date().toISOString());
  const reply = await runScript(redis, scripts.checkpoint, [key.record(snapshotId), key.checkpoint(snapshotId)], [json, String(ctx.checkpointTtlMs)]);
  if (reply === 'NOT_FOUND') throw new SnapshotNotFoundError(snapshotId);
  if (reply === 'COMPLETED') throw new CheckpointRefusedError(snapshotId);
  return checkpoint;
}

async function getCheckpoint(ctx: Ctx, snapshotId: string): Promise<SnapshotCheckpoint | null> {
  const json = await ctx.redis.get(ctx.key.checkpoint(snapshotId));
  return json == null ? null : JSON.parse(String(json)) as SnapshotCheckpoint;
}

async function createSchedule(ctx: Ctx, input: NewSchedule): Promise<ScheduleRecord> {
  const { redis, key } = ctx;
  const { id, ms } = newId();
  const schedule = buildSchedule(input, id, new Date(ms).toISOString());
  await redis.multi()
    .hSet(key.schedule(id), scheduleToHash(schedule))
    .zAdd(key.schedulesAll, { score: 0, value: id })
    .zAdd(key.schedulesByToken(schedule.tokenId), { score: 0, value: id })
    .exec();
  return schedule;
}

async function listSchedules(ctx: Ctx, query: ScheduleQuery = {}): Promise<Page<ScheduleRecord>> {
  const q = checkScheduleQuery(query);
  const index = q.tokenId === undefined ? ctx.key.schedulesAll : ctx.key.schedulesByToken(q.tokenId);
  return scanIndex(ctx.redis, index, q.afterId, q.limit, (id) => readSchedule(ctx, id), () => true, (s) => s.id);
}

async function deleteSchedule(ctx: Ctx, id: string): Promise<boolean> {
  const { redis, key } = ctx;
  const schedule = await readSchedule(ctx, id);
  if (schedule === null) return false;
  const replies = await redis.multi()
    .del(key.schedule(id))
    .zRem(key.schedulesAll, id)
    .zRem(key.schedulesByToken(schedule.tokenId), id)
    .exec();
  return Number(replies[0]) === 1;
}

async function readLogSegment(ctx: Ctx, symbol: string, index: number): Promise<LogSegmentRecord | null> {
  const [json] = await ctx.redis.zRangeByScore(ctx.key.logSegments(symbol), index, index);
  return json === undefined ? null : JSON.parse(String(json)) as LogSegmentRecord;
}

async function lastLogSegment(ctx: Ctx, symbol: string): Promise<LogSegmentRecord | null> {
  const [json] = await ctx.redis.zRange(ctx.key.logSegments(symbol), 0, 0, { REV: true });
  return json === undefined ? null : JSON.parse(String(json)) as LogSegmentRecord;
}

async function saveLogSegment(ctx: Ctx, input: NewLogSegment): Promise<LogSegmentRecord> {
  const segment = buildLogSegment(input, new Date().toISOString());
  for (let attempt = 0; attempt < updateAttemptsMax; attempt++) {
    const [atIndex, last] = await Promise.all([readLogSegment(ctx, segment.symbol, segment.index), lastLogSegment(ctx, segment.symbol)]);
    if (planLogSegment(segment, atIndex, last) === 'same') return atIndex!;
    const reply = await runScript(ctx.redis, scripts.logSegment, [ctx.key.logSegments(segment.symbol)], [String(segment.index), JSON.stringify(segment), String(last?.index ?? -1)]);
    if (reply === 'OK') return segment;
  }
  throw new ConcurrentUpdateError(`log segment ${segment.index} of ${segment.symbol}`);
}

/** The validated context of a store: prefix (hash tag on a cluster) and checkpoint TTL checked. */
function storeContext(options: RedisSnapshotStoreOptions): Ctx {
  const { redis } = options;
  const prefix = options.keyPrefix ?? defaultKeyPrefix;
  if (!keyPrefixPattern.test(prefix)) throw new Error(`snapshot store key prefix ${JSON.stringify(prefix)} must match ${keyPrefixPattern.source}`);
  if (isCluster(redis) && !hashTagPattern.test(prefix)) {
    throw new Error(`snapshot store key prefix ${JSON.stringify(prefix)} has no hash tag; on Redis Cluster use one such as {tally:snap}:`);
  }
  const checkpointTtlMs = options.checkpointTtlMs ?? checkpointTtlMsDefault;
  if (!Number.isSafeInteger(checkpointTtlMs) || checkpointTtlMs < 1_000) throw new Error('checkpointTtlMs must be an integer >= 1000');
  return { redis, key: keysFor(prefix), checkpointTtlMs };
}

export function createRedisSnapshotStore(options: RedisSnapshotStoreOptions): SnapshotStore {
  const ctx = storeContext(options);
  const { redis, key } = ctx;
  return withIdChecks({
    create: (input) => createRecord(ctx, input),
    get: (snapshotId) => readRecord(ctx, snapshotId),
    update: (snapshotId, patch) => updateRecord(ctx, snapshotId, patch),
    list: (query) => listRecords(ctx, query),
    saveCheckpoint: (snapshotId, input) => saveCheckpoint(ctx, snapshotId, input),
    getCheckpoint: (snapshotId) => getCheckpoint(ctx, snapshotId),
    async clearCheckpoint(snapshotId) { await redis.del(key.checkpoint(snapshotId)); },
    createSchedule: (input) => createSchedule(ctx, input),
    getSchedule: (id) => readSchedule(ctx, id),
    listSchedules: (query) => listSchedules(ctx, query),
    deleteSchedule: (id) => deleteSchedule(ctx, id),
    saveLogSegment: (segment) => saveLogSegment(ctx, segment),
    getLogSegment: (symbol, index) => readLogSegment(ctx, symbol, index),
    lastLogSegment: (symbol) => lastLogSegment(ctx, symbol),
    async ping() { await redis.exists(key.all); },
    async close() { if (options.ownsConnection) await redis.close(); },
  });
}
