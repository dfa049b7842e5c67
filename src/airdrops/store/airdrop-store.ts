// The airdrop metadata store (docs/airdrops.md, The record): one interface, two implementations
// (store/redis.ts, store/mongo.ts), following the snapshot store's conventions: UUIDv7 ids
// (ordering by id is ordering by creation), lists newest first with an opaque cursor, ISO dates
// with milliseconds, `null` for absent values. This file holds what both share: the record, the
// status machine, validation and the typed errors.
//
// Two rules make a replay safe, and both stores enforce them in one atomic write:
// - an idempotency key names one airdrop forever: create() with a key that exists returns the
//   airdrop it names (same request) or fails with OP_CONFLICT (another request);
// - progress only moves forward: an update may say which `chunksDone` it was planned from, and is
//   refused (StaleProgressError) when another runner moved it meanwhile.
import { accountPattern, eventIdPattern, isAmount, symbolPattern } from '../../identifiers.ts';
import { TallyError } from '../../errors.ts';
import { assertId, decodeCursor, listLimitDefault, listLimitMax, type Page } from '../../snapshots/store/metadata-store.ts';
import { AirdropNotFoundError } from '../errors.ts';

export type { Page };

export const airdropStatuses = ['pending', 'running', 'completed', 'failed'] as const;
export type AirdropStatus = (typeof airdropStatuses)[number];

/**
 * `pending` (planned, waiting for a runner) -> `running` -> `completed` | `failed`. `running ->
 * running` is a progress update (or another runner taking over); `failed -> pending | running`
 * resumes. Nothing leaves `completed`.
 */
export const airdropTransitions: Readonly<Record<AirdropStatus, readonly AirdropStatus[]>> = {
  pending: ['pending', 'running', 'failed'],
  running: ['running', 'completed', 'failed'],
  failed: ['pending', 'running', 'failed'],
  completed: [],
};

export type AirdropRuleName = 'fixed' | 'proRata';

/** Holders left out before the rule applies: below `minBalance` (base units), or named in `exclude`. */
export interface AirdropFilters {
  minBalance?: string;
  exclude?: string[];
}

export interface AirdropFailure { code: string; message: string }

/** The record of docs/airdrops.md, exactly these fields. */
export interface AirdropRecord {
  airdropId: string;
  /** The Tally token paid in. */
  symbol: string;
  snapshotId: string;
  /** The snapshot's content the plan was computed from. */
  snapshotCid: string;
  /** The ledger account that pays every leg. */
  from: string;
  rule: AirdropRuleName;
  /** `fixed`: what each holder gets; null for `proRata`. */
  amount: string | null;
  /** What the plan pays in all (for `proRata`, the total asked for). */
  total: string;
  filters: AirdropFilters | null;
  planCid: string;
  planBytes: number;
  /** Holders the rule was applied to (after the filters). */
  holders: number;
  /** Legs of the plan (holders whose share is above 0). */
  legs: number;
  /** Legs per ledger_transfer_batch call, fixed for the airdrop's life (its opIds depend on it). */
  chunkLegs: number;
  chunks: number;
  /** Chunks committed, in order: chunks 0..chunksDone-1 are paid. */
  chunksDone: number;
  /** Legs paid, and what they paid. */
  paid: number;
  paidAmount: string;
  /** The log entry of the last chunk paid, or the log's last entry before the first chunk. */
  lastEventId: string | null;
  /** When chunk `chunksDone` was first sent to the ledger; null when it has not been yet. */
  chunkStartedAt: string | null;
  /** When it was last sent (a resumed run sends a chunk in doubt again); null with chunkStartedAt. */
  chunkSentAt: string | null;
  status: AirdropStatus;
  attempts: number;
  error: AirdropFailure | null;
  requestedBy: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export const airdropRecordFields = [
  'airdropId', 'symbol', 'snapshotId', 'snapshotCid', 'from', 'rule', 'amount', 'total', 'filters', 'planCid', 'planBytes',
  'holders', 'legs', 'chunkLegs', 'chunks', 'chunksDone', 'paid', 'paidAmount', 'lastEventId', 'chunkStartedAt', 'chunkSentAt', 'status',
  'attempts', 'error', 'requestedBy', 'createdAt', 'startedAt', 'finishedAt',
] as const satisfies readonly (keyof AirdropRecord)[];

/** Record fields stored as JSON text where a backend has only strings (the Redis hash). */
export const jsonAirdropFields = ['filters', 'error'] as const;
/** Record fields that are numbers. */
export const numericAirdropFields = ['planBytes', 'holders', 'legs', 'chunkLegs', 'chunks', 'chunksDone', 'paid', 'attempts'] as const;

export type NewAirdrop = Pick<AirdropRecord, 'symbol' | 'snapshotId' | 'snapshotCid' | 'from' | 'rule' | 'amount' | 'total' | 'filters'
  | 'planCid' | 'planBytes' | 'holders' | 'legs' | 'chunkLegs' | 'requestedBy'>;

/** What an update may change; startedAt / finishedAt follow the status. */
export interface AirdropPatch {
  status?: AirdropStatus;
  chunksDone?: number;
  paid?: number;
  paidAmount?: string;
  lastEventId?: string | null;
  chunkStartedAt?: string | null;
  chunkSentAt?: string | null;
  attempts?: number;
  error?: AirdropFailure | null;
}

const patchFields = ['status', 'chunksDone', 'paid', 'paidAmount', 'lastEventId', 'chunkStartedAt', 'chunkSentAt', 'attempts', 'error'] as const;

export interface UpdateOptions {
  /** Refuse (StaleProgressError) unless the record's chunksDone is still this. */
  expectChunksDone?: number;
}

/** An idempotency key and the fingerprint of the request it was first used for. */
export interface IdempotencyClaim { key: string; fingerprint: string }

export interface AirdropQuery {
  symbol?: string;
  status?: AirdropStatus;
  /** 1..100, default 20. */
  limit?: number;
  cursor?: string;
}

export interface AirdropStore {
  /**
   * Stores a new `pending` record. With a claim: if its key was used before, nothing is stored and
   * the earlier airdrop is returned (`created: false`) when the fingerprint matches, else OP_CONFLICT.
   */
  create(input: NewAirdrop, claim?: IdempotencyClaim): Promise<{ record: AirdropRecord; created: boolean }>;
  /** The airdrop a key was first used for, and that request's fingerprint; null for a new key. */
  findByKey(key: string): Promise<{ airdropId: string; fingerprint: string } | null>;
  get(airdropId: string): Promise<AirdropRecord | null>;
  /** Applies a patch under the status machine (and expectChunksDone); returns the record as written. */
  update(airdropId: string, patch: AirdropPatch, options?: UpdateOptions): Promise<AirdropRecord>;
  /** Newest first. */
  list(query?: AirdropQuery): Promise<Page<AirdropRecord>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Errors

/** A field of a new record, a patch or a query that breaks its rule (a bug, or a tampered record). */
export class InvalidAirdropFieldError extends TallyError {
  constructor(field: string, message: string) { super('INVALID_ARGUMENT', `${field}: ${message}`); }
}

export class AirdropTransitionError extends TallyError {
  constructor(airdropId: string, from: AirdropStatus, to: AirdropStatus) {
    super('INVALID_TRANSITION', `airdrop ${airdropId} cannot go from ${from} to ${to}`);
  }
}

/** Another runner moved the airdrop on (its status or its chunksDone) since this update was planned. */
export class StaleProgressError extends TallyError {
  constructor(airdropId: string) { super('CONCURRENT_UPDATE', `airdrop ${airdropId} moved on under this update; read it again`); }
}

export { AirdropNotFoundError };

// ---------------------------------------------------------------------------------------------
// Validation

const cidPattern = /^[A-Za-z0-9]{1,200}$/;
const errorCodePattern = /^[A-Z][A-Z0-9_]{0,63}$/;
const errorMessageCharsMax = 2_000;
/** The keys the service derives: `rest:` or `cli:` and a hex SHA-256 (src/airdrops/service.ts). */
export const idempotencyKeyPattern = /^[a-z]{1,8}:[0-9a-f]{64}$/;
const fingerprintPattern = /^[0-9a-f]{64}$/;
export const chunkLegsMax = 1_000;
/** Accounts one exclude filter may name. */
export const excludeAccountsMax = 1_000;
const isoPattern = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function describe(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

function fail(field: string, message: string): never {
  throw new InvalidAirdropFieldError(field, message);
}

function checkPattern(field: string, value: unknown, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value)) fail(field, `expected a string matching ${pattern.source}, got ${describe(value)}`);
  return value;
}

function checkCount(field: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) fail(field, `expected an integer >= ${min}, got ${describe(value)}`);
  return value;
}

function checkAmount(field: string, value: unknown): string {
  if (!isAmount(value)) fail(field, `expected a base-unit integer string in 0..2^256-1, got ${describe(value)}`);
  return value;
}

export function checkIdempotencyClaim(claim: IdempotencyClaim): IdempotencyClaim {
  return { key: checkPattern('key', claim.key, idempotencyKeyPattern), fingerprint: checkPattern('fingerprint', claim.fingerprint, fingerprintPattern) };
}

export function checkAirdropFilters(value: unknown): AirdropFilters | null {
  if (value === null || value === undefined) return null;
  const filters = value as AirdropFilters;
  if (typeof filters !== 'object' || Array.isArray(filters)) fail('filters', 'expected an object');
  for (const key of Object.keys(filters)) if (key !== 'minBalance' && key !== 'exclude') fail(`filters.${key}`, 'unknown filter (known: minBalance, exclude)');
  const out: AirdropFilters = {};
  if (filters.minBalance !== undefined) out.minBalance = checkAmount('filters.minBalance', filters.minBalance);
  if (filters.exclude !== undefined) {
    if (!Array.isArray(filters.exclude) || filters.exclude.length > excludeAccountsMax) fail('filters.exclude', `expected at most ${excludeAccountsMax} accounts`);
    out.exclude = filters.exclude.map((a, i) => checkPattern(`filters.exclude[${i}]`, a, accountPattern));
  }
  return Object.keys(out).length === 0 ? null : out;
}

function checkError(value: unknown): AirdropFailure {
  const error = value as Partial<AirdropFailure> | null;
  if (typeof error !== 'object' || error === null || typeof error.code !== 'string' || !errorCodePattern.test(error.code) || typeof error.message !== 'string') {
    fail('error', 'expected { code: UPPER_CASE_CODE, message: string }');
  }
  return { code: error.code, message: error.message.slice(0, errorMessageCharsMax) };
}

function checkStatus(field: string, value: unknown): AirdropStatus {
  if (!(airdropStatuses as readonly unknown[]).includes(value)) fail(field, `expected one of ${airdropStatuses.join(', ')}, got ${describe(value)}`);
  return value as AirdropStatus;
}

/** Validates a new record's input and builds the `pending` record. */
export function buildAirdropRecord(input: NewAirdrop, id: string, createdAt: string): AirdropRecord {
  if (typeof input !== 'object' || input === null) fail('input', 'expected an object');
  const rule = input.rule === 'fixed' || input.rule === 'proRata' ? input.rule : fail('rule', `expected fixed or proRata, got ${describe(input.rule)}`);
  const amount = rule === 'fixed' ? checkAmount('amount', input.amount) : input.amount === null ? null : fail('amount', 'a proRata airdrop has no per-holder amount');
  const legs = checkCount('legs', input.legs, 1);
  const chunkLegs = checkCount('chunkLegs', input.chunkLegs, 1);
  if (chunkLegs > chunkLegsMax) fail('chunkLegs', `expected at most ${chunkLegsMax}`);
  assertId('snapshotId', input.snapshotId);
  return {
    airdropId: id,
    symbol: checkPattern('symbol', input.symbol, symbolPattern),
    snapshotId: input.snapshotId,
    snapshotCid: checkPattern('snapshotCid', input.snapshotCid, cidPattern),
    from: checkPattern('from', input.from, accountPattern),
    rule,
    amount,
    total: checkAmount('total', input.total),
    filters: checkAirdropFilters(input.filters),
    planCid: checkPattern('planCid', input.planCid, cidPattern),
    planBytes: checkCount('planBytes', input.planBytes, 1),
    holders: checkCount('holders', input.holders, legs),
    legs,
    chunkLegs,
    chunks: Math.ceil(legs / chunkLegs),
    chunksDone: 0,
    paid: 0,
    paidAmount: '0',
    lastEventId: null,
    chunkStartedAt: null,
    chunkSentAt: null,
    status: 'pending',
    attempts: 0,
    error: null,
    requestedBy: input.requestedBy == null ? null : checkPattern('requestedBy', input.requestedBy, accountPattern),
    createdAt,
    startedAt: null,
    finishedAt: null,
  };
}

function checkPatch(patch: AirdropPatch, current: AirdropRecord): AirdropPatch {
  if (typeof patch !== 'object' || patch === null) fail('patch', 'expected an object');
  for (const key of Object.keys(patch)) {
    if (!(patchFields as readonly string[]).includes(key)) fail(key, `not a field an update may set (allowed: ${patchFields.join(', ')})`);
  }
  const out: AirdropPatch = {};
  if (patch.status !== undefined) out.status = checkStatus('status', patch.status);
  if (patch.chunksDone !== undefined) {
    out.chunksDone = checkCount('chunksDone', patch.chunksDone, current.chunksDone);
    if (out.chunksDone > current.chunks) fail('chunksDone', `the airdrop has ${current.chunks} chunks`);
  }
  if (patch.paid !== undefined) {
    out.paid = checkCount('paid', patch.paid, current.paid);
    if (out.paid > current.legs) fail('paid', `the airdrop has ${current.legs} legs`);
  }
  if (patch.paidAmount !== undefined) out.paidAmount = checkAmount('paidAmount', patch.paidAmount);
  if (patch.lastEventId !== undefined) out.lastEventId = patch.lastEventId === null ? null : checkPattern('lastEventId', patch.lastEventId, eventIdPattern);
  if (patch.chunkStartedAt !== undefined) out.chunkStartedAt = patch.chunkStartedAt === null ? null : checkPattern('chunkStartedAt', patch.chunkStartedAt, isoPattern);
  if (patch.chunkSentAt !== undefined) out.chunkSentAt = patch.chunkSentAt === null ? null : checkPattern('chunkSentAt', patch.chunkSentAt, isoPattern);
  if (patch.attempts !== undefined) out.attempts = checkCount('attempts', patch.attempts);
  if (patch.error !== undefined) out.error = patch.error === null ? null : checkError(patch.error);
  return out;
}

export interface AirdropUpdatePlan {
  from: AirdropStatus;
  to: AirdropStatus;
  changes: Partial<AirdropRecord>;
  next: AirdropRecord;
}

/**
 * Validates a patch against the current record and works out every field to write. Entering
 * `running` sets startedAt and clears finishedAt and error (unless the patch sets one); entering
 * `completed` or `failed` sets finishedAt.
 */
export function planAirdropUpdate(current: AirdropRecord, rawPatch: AirdropPatch, now: string, options: UpdateOptions = {}): AirdropUpdatePlan {
  if (options.expectChunksDone !== undefined && options.expectChunksDone !== current.chunksDone) throw new StaleProgressError(current.airdropId);
  const patch = checkPatch(rawPatch, current);
  const from = current.status;
  const to = patch.status ?? from;
  if (!airdropTransitions[from].includes(to)) throw new AirdropTransitionError(current.airdropId, from, to);
  const changes: Partial<AirdropRecord> = { ...patch } as Partial<AirdropRecord>;
  if (to !== from) changes.status = to;
  if (to === 'running' && from !== 'running') {
    changes.startedAt = now;
    changes.finishedAt = null;
    if (patch.error === undefined) changes.error = null;
  }
  if ((to === 'completed' || to === 'failed') && to !== from) changes.finishedAt = now;
  if (to === 'pending' && from !== 'pending') changes.finishedAt = null;
  return { from, to, changes, next: { ...current, ...changes } };
}

export function checkAirdropQuery(query: AirdropQuery = {}): { symbol?: string; status?: AirdropStatus; limit: number; afterId: string | null } {
  if (typeof query !== 'object' || query === null) fail('query', 'expected an object');
  const limit = query.limit ?? listLimitDefault;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > listLimitMax) fail('limit', `expected an integer in 1..${listLimitMax}`);
  return {
    ...(query.symbol === undefined ? {} : { symbol: checkPattern('symbol', query.symbol, symbolPattern) }),
    ...(query.status === undefined ? {} : { status: checkStatus('status', query.status) }),
    limit,
    afterId: query.cursor === undefined ? null : decodeCursor(query.cursor),
  };
}

/** A store over a backend's operations with every id and key checked first (they become keys and queries). */
export function withAirdropChecks(ops: AirdropStore): AirdropStore {
  return {
    ...ops,
    async create(input, claim) { return ops.create(input, claim === undefined ? undefined : checkIdempotencyClaim(claim)); },
    async findByKey(key) { return ops.findByKey(checkPattern('key', key, idempotencyKeyPattern)); },
    async get(airdropId) { assertId('airdropId', airdropId); return ops.get(airdropId); },
    async update(airdropId, patch, options) { assertId('airdropId', airdropId); return ops.update(airdropId, patch, options); },
  };
}
