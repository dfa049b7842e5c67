// The airdrop store on Redis (used when MONGODB_URL is unset). Semantics: airdrop-store.ts. Keys,
// with P the configured prefix (default `tally:airdrop:`):
//
//   P rec:<airdropId>      hash    the record; null fields are absent, filters and error are JSON
//   P idx:all              zset    every airdropId, score 0 (ordered by id = by time)
//   P idx:sym:<SYM>        zset    per token
//   P key:<key>            string  `<airdropId> <fingerprint>`: the airdrop an idempotency key names
//
// create and update are one script each, so a key and its record, or a progress step and the
// check it was planned against, are written together. On Redis Cluster the prefix must carry a
// hash tag (e.g. `{tally:airdrop}:`) so every key is in one slot.
import { isCluster, type RedisConnection } from '../../connections.ts';
import { newId, type Page } from '../../snapshots/store/metadata-store.ts';
import { runScript, scanIndex, script } from '../../snapshots/store/redis.ts';
import { AirdropKeyConflictError } from '../errors.ts';
import {
  AirdropNotFoundError, buildAirdropRecord, checkAirdropQuery, jsonAirdropFields, numericAirdropFields, planAirdropUpdate, StaleProgressError,
  withAirdropChecks, type AirdropQuery, type AirdropRecord, type AirdropStore, type IdempotencyClaim, type NewAirdrop,
} from './airdrop-store.ts';

export interface RedisAirdropStoreOptions {
  redis: RedisConnection;
  /** Default `tally:airdrop:`; on a cluster it must contain a hash tag such as `{tally:airdrop}:`. */
  keyPrefix?: string;
  /** Whether close() also closes the connection. Default false: the caller owns it. */
  ownsConnection?: boolean;
}

export const defaultAirdropKeyPrefix = 'tally:airdrop:';
const keyPrefixPattern = /^[A-Za-z0-9{}:._-]{1,64}$/;
const hashTagPattern = /\{[^{}]+\}/;
const updateAttemptsMax = 5;

// KEYS[1] record, KEYS[2] idempotency key (a placeholder without one), KEYS[3] idx:all, KEYS[4] idx:sym.
// ARGV[1] '1' with a key, ARGV[2] airdropId, ARGV[3] the key's value, ARGV[4..] field/value pairs.
// Reply: 'OK', or the value already under the key (nothing written).
const createScript = `
if ARGV[1] == '1' then
  local existing = redis.call('GET', KEYS[2])
  if existing then return existing end
  redis.call('SET', KEYS[2], ARGV[3])
end
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('ZADD', KEYS[3], 0, ARGV[2])
redis.call('ZADD', KEYS[4], 0, ARGV[2])
return 'OK'
`;

// KEYS[1] record. ARGV[1] expected status, ARGV[2] expected chunksDone, ARGV[3] n, ARGV[4..3+2n]
// field/value pairs to set, the rest fields to delete. Reply: 'OK', 'NOT_FOUND' or 'CONFLICT'.
const updateScript = `
local current = redis.call('HMGET', KEYS[1], 'status', 'chunksDone')
if not current[1] then return 'NOT_FOUND' end
if current[1] ~= ARGV[1] or current[2] ~= ARGV[2] then return 'CONFLICT' end
local n = tonumber(ARGV[3])
local sets = {}
for i = 4, 3 + 2 * n do sets[#sets + 1] = ARGV[i] end
if #sets > 0 then redis.call('HSET', KEYS[1], unpack(sets)) end
local dels = {}
for i = 4 + 2 * n, #ARGV do dels[#dels + 1] = ARGV[i] end
if #dels > 0 then redis.call('HDEL', KEYS[1], unpack(dels)) end
return 'OK'
`;

const scripts = { create: script(createScript), update: script(updateScript) };

function keysFor(prefix: string) {
  return {
    record: (id: string) => `${prefix}rec:${id}`,
    all: `${prefix}idx:all`,
    symbol: (symbol: string) => `${prefix}idx:sym:${symbol}`,
    key: (key: string) => `${prefix}key:${key}`,
  };
}

function toHash(fields: Partial<AirdropRecord>): { set: Record<string, string>; unset: string[] } {
  const set: Record<string, string> = {};
  const unset: string[] = [];
  for (const [field, value] of Object.entries(fields)) {
    if (value === null || value === undefined) unset.push(field);
    else set[field] = (jsonAirdropFields as readonly string[]).includes(field) ? JSON.stringify(value) : String(value);
  }
  return { set, unset };
}

function fromHash(hash: Record<string, string>): AirdropRecord {
  const record: Record<string, unknown> = {};
  for (const field of ['airdropId', 'symbol', 'snapshotId', 'snapshotCid', 'from', 'rule', 'amount', 'total', 'planCid', 'paidAmount',
    'lastEventId', 'chunkStartedAt', 'chunkSentAt', 'status', 'requestedBy', 'createdAt', 'startedAt', 'finishedAt'] as const) record[field] = hash[field] ?? null;
  for (const field of numericAirdropFields) record[field] = Number(hash[field] ?? 0);
  for (const field of jsonAirdropFields) record[field] = hash[field] === undefined ? null : JSON.parse(hash[field]);
  return record as unknown as AirdropRecord;
}

interface Ctx { redis: RedisConnection; key: ReturnType<typeof keysFor> }

async function readRecord(ctx: Ctx, id: string): Promise<AirdropRecord | null> {
  const hash = await ctx.redis.hGetAll(ctx.key.record(id)) as unknown as Record<string, string>;
  return Object.keys(hash).length === 0 ? null : fromHash(hash);
}

function parseKeyValue(value: string): { airdropId: string; fingerprint: string } {
  const [airdropId, fingerprint] = value.split(' ');
  return { airdropId: airdropId!, fingerprint: fingerprint! };
}

async function createRecord(ctx: Ctx, input: NewAirdrop, claim?: IdempotencyClaim): Promise<{ record: AirdropRecord; created: boolean }> {
  const { id, ms } = newId();
  const record = buildAirdropRecord(input, id, new Date(ms).toISOString());
  const pairs = Object.entries(toHash(record).set).flat();
  const keyName = ctx.key.key(claim?.key ?? '-');
  const reply = await runScript(ctx.redis, scripts.create, [ctx.key.record(id), keyName, ctx.key.all, ctx.key.symbol(record.symbol)],
    [claim ? '1' : '0', id, claim ? `${id} ${claim.fingerprint}` : '', ...pairs]);
  if (reply === 'OK') return { record, created: true };
  const earlier = parseKeyValue(reply);
  if (earlier.fingerprint !== claim!.fingerprint) throw new AirdropKeyConflictError(earlier.airdropId);
  const existing = await readRecord(ctx, earlier.airdropId);
  if (existing === null) throw new AirdropNotFoundError(earlier.airdropId);
  return { record: existing, created: false };
}

async function updateRecord(ctx: Ctx, airdropId: string, patch: Parameters<AirdropStore['update']>[1], options: Parameters<AirdropStore['update']>[2] = {}): Promise<AirdropRecord> {
  for (let attempt = 0; attempt < updateAttemptsMax; attempt++) {
    const current = await readRecord(ctx, airdropId);
    if (current === null) throw new AirdropNotFoundError(airdropId);
    const plan = planAirdropUpdate(current, patch, new Date().toISOString(), options);
    const { set, unset } = toHash(plan.changes);
    const pairs = Object.entries(set).flat();
    const reply = await runScript(ctx.redis, scripts.update, [ctx.key.record(airdropId)],
      [plan.from, String(current.chunksDone), String(pairs.length / 2), ...pairs, ...unset]);
    if (reply === 'OK') return plan.next;
    if (reply === 'NOT_FOUND') throw new AirdropNotFoundError(airdropId);
    // CONFLICT: another writer changed the status or the progress; with an expectation, that is final.
    if (options.expectChunksDone !== undefined) throw new StaleProgressError(airdropId);
  }
  throw new StaleProgressError(airdropId);
}

async function listRecords(ctx: Ctx, query: AirdropQuery = {}): Promise<Page<AirdropRecord>> {
  const q = checkAirdropQuery(query);
  const index = q.symbol === undefined ? ctx.key.all : ctx.key.symbol(q.symbol);
  const accept = (r: AirdropRecord) => (q.symbol === undefined || r.symbol === q.symbol) && (q.status === undefined || r.status === q.status);
  return scanIndex(ctx.redis, index, q.afterId, q.limit, (id) => readRecord(ctx, id), accept, (r) => r.airdropId);
}

export function createRedisAirdropStore(options: RedisAirdropStoreOptions): AirdropStore {
  const { redis } = options;
  const prefix = options.keyPrefix ?? defaultAirdropKeyPrefix;
  if (!keyPrefixPattern.test(prefix)) throw new Error(`airdrop store key prefix ${JSON.stringify(prefix)} must match ${keyPrefixPattern.source}`);
  if (isCluster(redis) && !hashTagPattern.test(prefix)) {
    throw new Error(`airdrop store key prefix ${JSON.stringify(prefix)} has no hash tag; on Redis Cluster use one such as {tally:airdrop}:`);
  }
  const ctx: Ctx = { redis, key: keysFor(prefix) };
  return withAirdropChecks({
    create: (input, claim) => createRecord(ctx, input, claim),
    async findByKey(key) {
      const value = await redis.get(ctx.key.key(key));
      return value == null ? null : parseKeyValue(String(value));
    },
    get: (id) => readRecord(ctx, id),
    update: (id, patch, updateOptions) => updateRecord(ctx, id, patch, updateOptions),
    list: (query) => listRecords(ctx, query),
    async ping() { await redis.exists(ctx.key.all); },
    async close() { if (options.ownsConnection) await redis.close(); },
  });
}
