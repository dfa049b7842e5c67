// The snapshot metadata store (docs/snapshot-format.md): one interface, two implementations
// (store/redis.ts, store/mongo.ts) that pass the same contract tests.
// This file holds what both share: the record and its types, the status machine, input
// validation, id and cursor encoding, and the typed errors.
//
// Conventions, the same in both stores:
// - Ids (snapshotId, schedule id) are UUIDv7 generated here: the first 48 bits are the creation
//   time in ms, so ordering by id is ordering by creation time. Lists are newest first, and a
//   cursor is the last id of the previous page (opaque to callers).
// - Every date the store sets (createdAt, startedAt, finishedAt, checkpoint savedAt) is an ISO
//   8601 UTC string with milliseconds (`2026-01-02T03:04:05.678Z`). Hedera timestamps
//   (requestedTimestamp, consensusTimestamp) are mirror-node strings `seconds.nanoseconds`.
// - Absent values are `null`, never missing: every record has exactly the §7 fields.
// - A snapshot of a Tally token (network `ledger`, src/snapshots/ledger-snapshots.ts) names the
//   token by symbol in tokenId and its point by event id (`ms-seq`) in requestedTimestamp and
//   consensusTimestamp.
// - A checkpoint is a small JSON beside the record (never inside it, never returned with it);
//   the transition to `completed` deletes it in the same write.
import { randomBytes } from 'node:crypto';
import { accountPattern, eventIdPattern, isAmount, ledgerNetwork, symbolPattern } from '../../identifiers.ts';
import { isCanonicalEntityId, timestampPattern } from '../hedera-ids.ts';
import { TallyError, type ErrorCode } from '../../errors.ts';

export const snapshotStatuses = ['queued', 'running', 'completed', 'failed'] as const;
export type SnapshotStatus = (typeof snapshotStatuses)[number];

/**
 * Allowed status changes. `running -> running` is a progress update; `failed -> running` is a
 * retry; `queued -> failed` covers a job that could not be enqueued or started. Nothing leaves
 * `completed`. An update without `status` keeps the current one, so it must be allowed too.
 */
export const statusTransitions: Readonly<Record<SnapshotStatus, readonly SnapshotStatus[]>> = {
  queued: ['running', 'failed'],
  running: ['running', 'completed', 'failed'],
  failed: ['running'],
  completed: [],
};

/** Why a snapshot failed, as its record stores it. */
export interface SnapshotFailure { code: string; message: string }

/**
 * Filters a snapshot was taken with (docs/snapshot-format.md): holders below `minBalance` (base
 * units) or holding fewer than `minCount` serials (NFTs) are left out, and so are the `exclude`
 * accounts (`treasury` names the token's treasury). Absent keys filter nothing.
 */
export interface SnapshotFilters {
  minBalance?: string;
  exclude?: string[];
  minCount?: number;
}

/** The Merkle tree of a snapshot's holders (OpenZeppelin StandardMerkleTree, docs/snapshot-products.md). */
export interface MerkleSummary {
  root: string;
  /** The CID of the tree dump (StandardMerkleTree's `standard-v1` JSON). */
  treeCid: string;
  leaves: number;
  /** Size of the dump in bytes. */
  bytes: number;
}

/** One token of a combination: its filters, and its own snapshot once the job has created it. */
export interface CombinationSource {
  tokenId: string;
  filters: SnapshotFilters | null;
  snapshotId: string | null;
  cid: string | null;
}

/** A combination's sources: one snapshot per token, all at one timestamp. */
export interface Combination {
  mode: 'all' | 'any';
  sources: CombinationSource[];
}

/** The metadata record of docs/snapshot-format.md, exactly these fields. */
export interface SnapshotRecord {
  snapshotId: string;
  tokenId: string;
  network: string;
  /** The timestamp the caller asked for (`seconds.nanoseconds`), null for "latest". */
  requestedTimestamp: string | null;
  /** The balance snapshot timestamp the mirror node answered from, once known. */
  consensusTimestamp: string | null;
  status: SnapshotStatus;
  /** 0..100. */
  progress: number;
  holders: number | null;
  /** Base-unit integer as a decimal string (docs/ledger-functions.md). */
  totalBalance: string | null;
  cid: string | null;
  bytes: number | null;
  requestedBy: string | null;
  scheduleId: string | null;
  attempts: number;
  error: SnapshotFailure | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** The filters of the request, null for none. */
  filters: SnapshotFilters | null;
  /** The Merkle tree, once completed; null for a combination or a snapshot without holders. */
  merkle: MerkleSummary | null;
  /** For a combination of tokens: how and of what; null for a snapshot of one token. */
  combination: Combination | null;
}

export const snapshotRecordFields = [
  'snapshotId', 'tokenId', 'network', 'requestedTimestamp', 'consensusTimestamp', 'status', 'progress',
  'holders', 'totalBalance', 'cid', 'bytes', 'requestedBy', 'scheduleId', 'attempts', 'error',
  'createdAt', 'startedAt', 'finishedAt', 'filters', 'merkle', 'combination',
] as const satisfies readonly (keyof SnapshotRecord)[];

export interface NewSnapshot {
  /** Canonical Hedera token id (`0.0.1234`, no checksum); a combination's first token. */
  tokenId: string;
  network: string;
  requestedTimestamp?: string | null;
  requestedBy?: string | null;
  scheduleId?: string | null;
  filters?: SnapshotFilters | null;
  combination?: Combination | null;
}

/** Record fields stored as JSON text where a backend has only strings (the Redis hash). */
export const jsonRecordFields = ['error', 'filters', 'merkle', 'combination'] as const;

/** What an update may change. startedAt / finishedAt are set by the store on transitions. */
export interface SnapshotPatch {
  status?: SnapshotStatus;
  progress?: number;
  consensusTimestamp?: string | null;
  holders?: number | null;
  totalBalance?: string | null;
  cid?: string | null;
  bytes?: number | null;
  attempts?: number;
  error?: SnapshotFailure | null;
  merkle?: MerkleSummary | null;
  combination?: Combination | null;
}

const patchFields = ['status', 'progress', 'consensusTimestamp', 'holders', 'totalBalance', 'cid', 'bytes', 'attempts', 'error', 'merkle', 'combination'] as const;

export interface SnapshotQuery {
  tokenId?: string;
  status?: SnapshotStatus;
  requestedBy?: string;
  /** 1..100, default 20. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null when there is none. */
  nextCursor: string | null;
}

/**
 * Resume state of a running snapshot job. `afterAccount` is the last account already written
 * (the next mirror-node page starts at `account.id=gt:afterAccount`); `holders`, `totalBalance`
 * and `bytesWritten` are the totals up to and including it. `parts` names partial output stored
 * elsewhere (e.g. CIDs of finished chunks); `extra` is free JSON for the pipeline. The whole
 * checkpoint must serialize to at most checkpointBytesMax.
 */
export interface SnapshotCheckpointInput {
  afterAccount: string | null;
  holders: number;
  totalBalance: string;
  bytesWritten?: number;
  consensusTimestamp?: string;
  parts?: string[];
  extra?: Record<string, unknown>;
}

export interface SnapshotCheckpoint extends SnapshotCheckpointInput {
  /** Set by the store. */
  savedAt: string;
}

export const checkpointBytesMax = 16 * 1024;

/** What a schedule asks each time: a combination's tokens (each with its filters) and mode. */
export interface ScheduledCombination {
  mode: 'all' | 'any';
  tokens: Array<{ tokenId: string; filters: SnapshotFilters | null }>;
}

/**
 * A recurring snapshot. `every` is validated by the scheduler (scheduler.parseEvery). The same
 * options as a request: `filters` for one token, or `combination` (then `tokenId` is its first token).
 */
export interface ScheduleRecord {
  id: string;
  tokenId: string;
  every: string;
  createdBy: string;
  createdAt: string;
  filters: SnapshotFilters | null;
  combination: ScheduledCombination | null;
}

export interface NewSchedule {
  tokenId: string;
  every: string;
  createdBy: string;
  filters?: SnapshotFilters | null;
  combination?: ScheduledCombination | null;
}

/** Schedule fields stored as JSON text in the Redis hash. */
export const jsonScheduleFields = ['filters', 'combination'] as const;

export interface ScheduleQuery { tokenId?: string; limit?: number; cursor?: string }

/**
 * One archived segment of a Tally token's log (src/snapshots/log-archives.ts): segment `index`
 * of the token's chain holds the `entries` log entries after `after` (the previous segment's
 * lastId; null for segment 0, which starts with init), firstId..lastId, stored on IPFS as `cid`
 * (`bytes` long, SHA-256 `sha256`), naming the previous segment's CID in its header.
 */
export interface LogSegmentRecord {
  symbol: string;
  index: number;
  cid: string;
  previous: string | null;
  after: string | null;
  firstId: string;
  lastId: string;
  entries: number;
  bytes: number;
  sha256: string;
  /** Set by the store. */
  createdAt: string;
}

export type NewLogSegment = Omit<LogSegmentRecord, 'createdAt'>;

export interface SnapshotStore {
  /** Stores a new record with status `queued` and a fresh snapshotId. */
  create(input: NewSnapshot): Promise<SnapshotRecord>;
  /** null when no record has this id; InvalidIdError when it is not a store id at all. */
  get(snapshotId: string): Promise<SnapshotRecord | null>;
  /** Applies a patch under the status machine; returns the record as written. */
  update(snapshotId: string, patch: SnapshotPatch): Promise<SnapshotRecord>;
  /** Newest first. A filtered page may hold fewer than `limit` items and still have a cursor. */
  list(query?: SnapshotQuery): Promise<Page<SnapshotRecord>>;
  /** Replaces the checkpoint; refused for unknown or completed snapshots. */
  saveCheckpoint(snapshotId: string, checkpoint: SnapshotCheckpointInput): Promise<SnapshotCheckpoint>;
  getCheckpoint(snapshotId: string): Promise<SnapshotCheckpoint | null>;
  clearCheckpoint(snapshotId: string): Promise<void>;
  createSchedule(input: NewSchedule): Promise<ScheduleRecord>;
  getSchedule(id: string): Promise<ScheduleRecord | null>;
  listSchedules(query?: ScheduleQuery): Promise<Page<ScheduleRecord>>;
  /** true when it existed. */
  deleteSchedule(id: string): Promise<boolean>;
  /**
   * Records a log segment. Idempotent: the same segment again returns the stored record; another
   * segment at the same index is refused (LogSegmentConflictError), and so is one that does not
   * extend the chain (index 0 or the index after the last one, naming its CID and lastId).
   */
  saveLogSegment(segment: NewLogSegment): Promise<LogSegmentRecord>;
  getLogSegment(symbol: string, index: number): Promise<LogSegmentRecord | null>;
  /** The token's segment of the greatest index, or null when it has none. */
  lastLogSegment(symbol: string): Promise<LogSegmentRecord | null>;
  /** Throws when the backing database does not answer (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Errors: one class per expected failure, each with a stable code and the HTTP status the REST
// layer answers with (the same shape as SnapshotSourceError in errors.ts).

export class SnapshotStoreError extends TallyError {}

/** An id that the store never generates (so it never becomes part of a key or a query). */
export class InvalidIdError extends SnapshotStoreError {
  constructor(what: string, value: unknown) {
    super('INVALID_ID', `invalid ${what} ${describe(value)}: expected a UUIDv7 issued by the snapshot store`);
  }
}

/** A field of a new record, a patch, a query or a checkpoint that breaks its rule. */
export class InvalidSnapshotFieldError extends SnapshotStoreError {
  readonly field: string;

  constructor(field: string, message: string) {
    super('INVALID_ARGUMENT', `${field}: ${message}`);
    this.field = field;
  }
}

export class InvalidCursorError extends SnapshotStoreError {
  constructor() {
    super('INVALID_CURSOR', 'invalid cursor: pass the nextCursor of a previous page unchanged');
  }
}

export class SnapshotNotFoundError extends SnapshotStoreError {
  readonly snapshotId: string;

  constructor(snapshotId: string) {
    super('SNAPSHOT_NOT_FOUND', `snapshot ${snapshotId} not found`);
    this.snapshotId = snapshotId;
  }
}

/** A checkpoint for a completed snapshot (its job is over; a late writer must not revive it). */
export class CheckpointRefusedError extends SnapshotStoreError {
  constructor(snapshotId: string) {
    super('SNAPSHOT_COMPLETED', `snapshot ${snapshotId} is completed; it takes no checkpoint`);
  }
}

/** A status change the machine forbids (e.g. anything after `completed`). */
/** A log segment that is not the next link of its token's chain (or differs from the one recorded at its index). */
export class LogSegmentConflictError extends SnapshotStoreError {
  constructor(message: string) {
    super('LOG_SEGMENT_CONFLICT', message);
  }
}

export class InvalidTransitionError extends SnapshotStoreError {
  readonly from: SnapshotStatus;
  readonly to: SnapshotStatus;

  constructor(snapshotId: string, from: SnapshotStatus, to: SnapshotStatus) {
    super('INVALID_TRANSITION', `snapshot ${snapshotId} cannot go from ${from} to ${to}`);
    this.from = from;
    this.to = to;
  }
}

/** The record kept changing status under a writer; the caller may retry. */
export class ConcurrentUpdateError extends SnapshotStoreError {
  constructor(snapshotId: string) {
    super('CONCURRENT_UPDATE', `snapshot ${snapshotId} changed status during the update; retry`);
  }
}

// ---------------------------------------------------------------------------------------------
// Ids and cursors

export const idPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let lastIdMs = 0;
let idCounter = 0;
const idCounterMax = 0xfff;

/**
 * A UUIDv7 (RFC 9562) whose 12-bit rand_a field is a counter, so ids made by one process are
 * strictly increasing even within one millisecond (method 1 of the RFC). Returns the id and the
 * millisecond it encodes, which the store uses as createdAt.
 */
export function newId(nowMs: number = Date.now()): { id: string; ms: number } {
  let ms = nowMs;
  if (ms <= lastIdMs) {
    ms = lastIdMs;
    idCounter += 1;
    if (idCounter > idCounterMax) { ms += 1; idCounter = 0; }
  } else {
    idCounter = randomBytes(2).readUInt16BE() & 0x7ff; // leave room to count up within the ms
  }
  lastIdMs = ms;
  const bytes = randomBytes(16);
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | (idCounter >> 8);
  bytes[7] = idCounter & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return { id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`, ms };
}

/** The creation time (ms) encoded in an id. */
export function idTimeMs(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

export function assertId(what: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !idPattern.test(value)) throw new InvalidIdError(what, value);
}

/**
 * A store over a backend's operations with every id checked first, so a value the store never
 * issued never becomes part of a key or a query. Both stores are built through it.
 */
export function withIdChecks(ops: SnapshotStore): SnapshotStore {
  return {
    ...ops,
    async getLogSegment(symbol, index) { checkSegmentKey(symbol, index); return ops.getLogSegment(symbol, index); },
    async lastLogSegment(symbol) { checkSegmentKey(symbol, 0); return ops.lastLogSegment(symbol); },
    async get(snapshotId) { assertId('snapshotId', snapshotId); return ops.get(snapshotId); },
    async update(snapshotId, patch) { assertId('snapshotId', snapshotId); return ops.update(snapshotId, patch); },
    async saveCheckpoint(snapshotId, checkpoint) { assertId('snapshotId', snapshotId); return ops.saveCheckpoint(snapshotId, checkpoint); },
    async getCheckpoint(snapshotId) { assertId('snapshotId', snapshotId); return ops.getCheckpoint(snapshotId); },
    async clearCheckpoint(snapshotId) { assertId('snapshotId', snapshotId); return ops.clearCheckpoint(snapshotId); },
    async getSchedule(id) { assertId('schedule id', id); return ops.getSchedule(id); },
    async deleteSchedule(id) { assertId('schedule id', id); return ops.deleteSchedule(id); },
  };
}

const cursorPrefix = 'c1:';

export function encodeCursor(lastId: string): string {
  return Buffer.from(cursorPrefix + lastId, 'utf8').toString('base64url');
}

/** The last id of the previous page. */
export function decodeCursor(cursor: unknown): string {
  if (typeof cursor !== 'string' || cursor.length > 80 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError();
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = text.startsWith(cursorPrefix) ? text.slice(cursorPrefix.length) : '';
  if (!idPattern.test(id)) throw new InvalidCursorError();
  return id;
}

// ---------------------------------------------------------------------------------------------
// Validation

export const listLimitMax = 100;
export const listLimitDefault = 20;
const networkPattern = /^[a-z][a-z0-9-]{0,31}$/;
const cidPattern = /^[A-Za-z0-9]{1,200}$/;
const errorCodePattern = /^[A-Z][A-Z0-9_]{0,63}$/;
const errorMessageCharsMax = 2_000;
const everyCharsMax = 100;
const partCharsMax = 200;

function describe(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

function fail(field: string, message: string): never {
  throw new InvalidSnapshotFieldError(field, message);
}

function checkTokenId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !isCanonicalEntityId(value)) fail(field, `expected a canonical Hedera id such as 0.0.1234 (no checksum), got ${describe(value)}`);
  return value;
}

/** A snapshot of a Tally token (network `ledger`) names it by symbol and its points by event id. */
const ledgerRecordNetwork = ledgerNetwork;

function checkSnapshotTokenId(field: string, value: unknown, network?: string): string {
  if (network === ledgerRecordNetwork || (network === undefined && typeof value === 'string' && symbolPattern.test(value))) {
    if (typeof value !== 'string' || !symbolPattern.test(value)) fail(field, `expected a ledger token symbol, got ${describe(value)}`);
    return value;
  }
  return checkTokenId(field, value);
}

function checkPoint(field: string, value: unknown): string {
  return typeof value === 'string' && eventIdPattern.test(value) ? value : checkTimestamp(field, value);
}

function checkLedgerPoint(field: string, value: unknown): string {
  if (typeof value !== 'string' || !eventIdPattern.test(value)) fail(field, `expected an event id ms-seq, got ${describe(value)}`);
  return value;
}

function checkAccount(field: string, value: unknown): string {
  if (typeof value !== 'string' || !accountPattern.test(value)) fail(field, `expected an account matching ${accountPattern.source}, got ${describe(value)}`);
  return value;
}

function checkTimestamp(field: string, value: unknown): string {
  if (typeof value !== 'string' || !timestampPattern.test(value)) fail(field, `expected seconds.nanoseconds, got ${describe(value)}`);
  return value;
}

function checkCount(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail(field, `expected a non-negative integer, got ${describe(value)}`);
  return value;
}

function checkStatus(field: string, value: unknown): SnapshotStatus {
  if (!(snapshotStatuses as readonly unknown[]).includes(value)) fail(field, `expected one of ${snapshotStatuses.join(', ')}, got ${describe(value)}`);
  return value as SnapshotStatus;
}

function checkError(value: unknown): SnapshotFailure {
  const error = value as Partial<SnapshotFailure> | null;
  if (typeof error !== 'object' || error === null || typeof error.code !== 'string' || !errorCodePattern.test(error.code) || typeof error.message !== 'string') {
    fail('error', 'expected { code: UPPER_CASE_CODE, message: string }');
  }
  return { code: error.code, message: error.message.slice(0, errorMessageCharsMax) };
}

/** Validates a new record's input and builds the record. */
export function buildRecord(input: NewSnapshot, id: string, createdAt: string): SnapshotRecord {
  if (typeof input !== 'object' || input === null) fail('input', 'expected an object');
  if (typeof input.network !== 'string' || !networkPattern.test(input.network)) fail('network', `expected a network name such as mainnet, got ${describe(input.network)}`);
  return {
    snapshotId: id,
    tokenId: checkSnapshotTokenId('tokenId', input.tokenId, input.network),
    network: input.network,
    requestedTimestamp: input.requestedTimestamp == null ? null
      : input.network === ledgerRecordNetwork ? checkLedgerPoint('requestedTimestamp', input.requestedTimestamp) : checkTimestamp('requestedTimestamp', input.requestedTimestamp),
    consensusTimestamp: null,
    status: 'queued',
    progress: 0,
    holders: null,
    totalBalance: null,
    cid: null,
    bytes: null,
    requestedBy: input.requestedBy == null ? null : checkAccount('requestedBy', input.requestedBy),
    scheduleId: input.scheduleId == null ? null : (assertId('scheduleId', input.scheduleId), input.scheduleId),
    attempts: 0,
    error: null,
    createdAt,
    startedAt: null,
    finishedAt: null,
    filters: input.filters == null ? null : checkFilters(input.filters),
    merkle: null,
    combination: input.combination == null ? null : checkCombination(input.combination),
  };
}

const filterKeys = ['minBalance', 'exclude', 'minCount'];
/** Accounts an exclude filter may name (the shorthand `treasury` counts as one). */
export const excludeAccountsMax = 100;

export function checkFilters(value: unknown): SnapshotFilters {
  const filters = value as SnapshotFilters;
  if (typeof filters !== 'object' || filters === null || Array.isArray(filters)) fail('filters', 'expected an object');
  for (const key of Object.keys(filters)) if (!filterKeys.includes(key)) fail(`filters.${key}`, `unknown filter (known: ${filterKeys.join(', ')})`);
  const out: SnapshotFilters = {};
  if (filters.minBalance !== undefined) {
    if (!isAmount(filters.minBalance)) fail('filters.minBalance', `expected a base-unit integer string, got ${describe(filters.minBalance)}`);
    out.minBalance = filters.minBalance;
  }
  if (filters.exclude !== undefined) {
    const list = filters.exclude;
    if (!Array.isArray(list) || list.length > excludeAccountsMax || !list.every((a) => a === 'treasury' || (typeof a === 'string' && isCanonicalEntityId(a)))) {
      fail('filters.exclude', `expected at most ${excludeAccountsMax} canonical Hedera account ids or 'treasury'`);
    }
    out.exclude = [...new Set(list)];
  }
  if (filters.minCount !== undefined) out.minCount = checkCount('filters.minCount', filters.minCount);
  return out;
}

function checkMerkle(value: unknown): MerkleSummary {
  const m = value as MerkleSummary;
  if (typeof m !== 'object' || m === null || typeof m.root !== 'string' || !/^0x[0-9a-f]{64}$/.test(m.root)
    || typeof m.treeCid !== 'string' || !cidPattern.test(m.treeCid)) fail('merkle', 'expected { root: 0x + 64 hex, treeCid, leaves, bytes }');
  return { root: m.root, treeCid: m.treeCid, leaves: checkCount('merkle.leaves', m.leaves), bytes: checkCount('merkle.bytes', m.bytes) };
}

/** Tokens one combination may join. */
export const combinationSourcesMax = 10;

function checkCombination(value: unknown): Combination {
  const c = value as Combination;
  if (typeof c !== 'object' || c === null || (c.mode !== 'all' && c.mode !== 'any') || !Array.isArray(c.sources)
    || c.sources.length < 2 || c.sources.length > combinationSourcesMax) fail('combination', `expected { mode: all | any, sources: 2..${combinationSourcesMax} }`);
  const sources = c.sources.map((source, i) => {
    if (typeof source !== 'object' || source === null) fail(`combination.sources[${i}]`, 'expected an object');
    if (source.snapshotId !== null) assertId(`combination.sources[${i}].snapshotId`, source.snapshotId);
    if (source.cid !== null && (typeof source.cid !== 'string' || !cidPattern.test(source.cid))) fail(`combination.sources[${i}].cid`, 'expected a CID or null');
    return { tokenId: checkTokenId(`combination.sources[${i}].tokenId`, source.tokenId), filters: source.filters == null ? null : checkFilters(source.filters),
      snapshotId: source.snapshotId, cid: source.cid };
  });
  if (new Set(sources.map((s) => s.tokenId)).size !== sources.length) fail('combination.sources', 'each token at most once');
  return { mode: c.mode, sources };
}

function checkPatch(patch: SnapshotPatch): SnapshotPatch {
  if (typeof patch !== 'object' || patch === null) fail('patch', 'expected an object');
  for (const key of Object.keys(patch)) {
    if (!(patchFields as readonly string[]).includes(key)) fail(key, `not a field an update may set (allowed: ${patchFields.join(', ')})`);
  }
  const out: SnapshotPatch = {};
  if (patch.status !== undefined) out.status = checkStatus('status', patch.status);
  if (patch.progress !== undefined) {
    if (typeof patch.progress !== 'number' || !Number.isFinite(patch.progress) || patch.progress < 0 || patch.progress > 100) fail('progress', `expected a number in 0..100, got ${describe(patch.progress)}`);
    out.progress = patch.progress;
  }
  if (patch.consensusTimestamp !== undefined) out.consensusTimestamp = patch.consensusTimestamp === null ? null : checkPoint('consensusTimestamp', patch.consensusTimestamp);
  if (patch.holders !== undefined) out.holders = patch.holders === null ? null : checkCount('holders', patch.holders);
  if (patch.totalBalance !== undefined) {
    if (patch.totalBalance !== null && !isAmount(patch.totalBalance)) fail('totalBalance', `expected a base-unit integer string, got ${describe(patch.totalBalance)}`);
    out.totalBalance = patch.totalBalance;
  }
  if (patch.cid !== undefined) {
    if (patch.cid !== null && (typeof patch.cid !== 'string' || !cidPattern.test(patch.cid))) fail('cid', `expected a CID string, got ${describe(patch.cid)}`);
    out.cid = patch.cid;
  }
  if (patch.bytes !== undefined) out.bytes = patch.bytes === null ? null : checkCount('bytes', patch.bytes);
  if (patch.attempts !== undefined) out.attempts = checkCount('attempts', patch.attempts);
  if (patch.error !== undefined) out.error = patch.error === null ? null : checkError(patch.error);
  if (patch.merkle !== undefined) out.merkle = patch.merkle === null ? null : checkMerkle(patch.merkle);
  if (patch.combination !== undefined) out.combination = patch.combination === null ? null : checkCombination(patch.combination);
  return out;
}

export interface UpdatePlan {
  from: SnapshotStatus;
  to: SnapshotStatus;
  /** The fields to write (a subset of the record). */
  changes: Partial<SnapshotRecord>;
  /** The record as it will read after the write. */
  next: SnapshotRecord;
  deleteCheckpoint: boolean;
}

/**
 * Validates a patch against the current record and the status machine and works out every
 * field to write. Entering `running` from another status sets startedAt and clears finishedAt
 * and error (a retry starts clean unless the patch says otherwise); entering `completed` or
 * `failed` sets finishedAt; `completed` sets progress to 100 and drops the checkpoint.
 */
export function planUpdate(current: SnapshotRecord, rawPatch: SnapshotPatch, now: string): UpdatePlan {
  const patch = checkPatch(rawPatch);
  const from = current.status;
  const to = patch.status ?? from;
  if (!statusTransitions[from].includes(to)) throw new InvalidTransitionError(current.snapshotId, from, to);
  const changes: Partial<SnapshotRecord> = { ...patch } as Partial<SnapshotRecord>;
  if (to !== from) changes.status = to;
  if (to === 'running' && from !== 'running') {
    changes.startedAt = now;
    changes.finishedAt = null;
    if (patch.error === undefined) changes.error = null;
  }
  if (to === 'completed' || to === 'failed') changes.finishedAt = now;
  if (to === 'completed') changes.progress = 100;
  return { from, to, changes, next: { ...current, ...changes }, deleteCheckpoint: to === 'completed' };
}

export function checkQuery(query: SnapshotQuery = {}): Required<Pick<SnapshotQuery, 'limit'>> & SnapshotQuery & { afterId: string | null } {
  if (typeof query !== 'object' || query === null) fail('query', 'expected an object');
  return {
    tokenId: query.tokenId === undefined ? undefined : checkSnapshotTokenId('tokenId', query.tokenId),
    status: query.status === undefined ? undefined : checkStatus('status', query.status),
    requestedBy: query.requestedBy === undefined ? undefined : checkAccount('requestedBy', query.requestedBy),
    limit: checkLimit(query.limit),
    afterId: query.cursor === undefined ? null : decodeCursor(query.cursor),
  };
}

export function checkScheduleQuery(query: ScheduleQuery = {}): { tokenId?: string; limit: number; afterId: string | null } {
  if (typeof query !== 'object' || query === null) fail('query', 'expected an object');
  return {
    tokenId: query.tokenId === undefined ? undefined : checkTokenId('tokenId', query.tokenId),
    limit: checkLimit(query.limit),
    afterId: query.cursor === undefined ? null : decodeCursor(query.cursor),
  };
}

function checkLimit(limit: unknown): number {
  if (limit === undefined) return listLimitDefault;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > listLimitMax) fail('limit', `expected an integer in 1..${listLimitMax}, got ${describe(limit)}`);
  return limit;
}

export function buildSchedule(input: NewSchedule, id: string, createdAt: string): ScheduleRecord {
  if (typeof input !== 'object' || input === null) fail('input', 'expected an object');
  if (typeof input.every !== 'string' || input.every.trim() === '' || input.every.length > everyCharsMax) fail('every', `expected a human interval or cron expression of at most ${everyCharsMax} characters`);
  const combination = input.combination == null ? null
    : checkCombination({ mode: input.combination.mode, sources: (input.combination.tokens ?? []).map((t) => ({ ...t, snapshotId: null, cid: null })) });
  return { id, tokenId: checkTokenId('tokenId', input.tokenId), every: input.every, createdBy: checkAccount('createdBy', input.createdBy), createdAt,
    filters: input.filters == null ? null : checkFilters(input.filters),
    combination: combination === null ? null : { mode: combination.mode, tokens: combination.sources.map((t) => ({ tokenId: t.tokenId, filters: t.filters })) } };
}

/** Validates a checkpoint and stamps it; returns it with its JSON text (bounded in size). */
export function buildCheckpoint(input: SnapshotCheckpointInput, savedAt: string): { checkpoint: SnapshotCheckpoint; json: string } {
  if (typeof input !== 'object' || input === null) fail('checkpoint', 'expected an object');
  const known = ['afterAccount', 'holders', 'totalBalance', 'bytesWritten', 'consensusTimestamp', 'parts', 'extra'];
  for (const key of Object.keys(input)) if (!known.includes(key)) fail(`checkpoint.${key}`, 'unknown checkpoint field (put free data under extra)');
  if (input.afterAccount !== null && (typeof input.afterAccount !== 'string' || !isCanonicalEntityId(input.afterAccount))) {
    fail('checkpoint.afterAccount', `expected null or a canonical account id, got ${describe(input.afterAccount)}`);
  }
  const checkpoint: SnapshotCheckpoint = {
    afterAccount: input.afterAccount,
    holders: checkCount('checkpoint.holders', input.holders),
    totalBalance: isAmount(input.totalBalance) ? input.totalBalance : fail('checkpoint.totalBalance', `expected a base-unit integer string, got ${describe(input.totalBalance)}`),
    savedAt,
  };
  if (input.bytesWritten !== undefined) checkpoint.bytesWritten = checkCount('checkpoint.bytesWritten', input.bytesWritten);
  if (input.consensusTimestamp !== undefined) checkpoint.consensusTimestamp = checkTimestamp('checkpoint.consensusTimestamp', input.consensusTimestamp);
  if (input.parts !== undefined) {
    if (!Array.isArray(input.parts) || !input.parts.every((p) => typeof p === 'string' && p.length > 0 && p.length <= partCharsMax)) {
      fail('checkpoint.parts', `expected an array of strings of 1..${partCharsMax} characters`);
    }
    checkpoint.parts = [...input.parts];
  }
  if (input.extra !== undefined) {
    if (typeof input.extra !== 'object' || input.extra === null || Array.isArray(input.extra)) fail('checkpoint.extra', 'expected a plain JSON object');
    checkpoint.extra = input.extra;
  }
  const json = JSON.stringify(checkpoint);
  if (Buffer.byteLength(json, 'utf8') > checkpointBytesMax) fail('checkpoint', `serializes to more than ${checkpointBytesMax} bytes; store partial data elsewhere and reference it in parts`);
  return { checkpoint: JSON.parse(json) as SnapshotCheckpoint, json };
}

function checkSegmentKey(symbol: unknown, index: unknown): void {
  if (typeof symbol !== 'string' || !symbolPattern.test(symbol)) fail('symbol', `expected a ledger token symbol, got ${describe(symbol)}`);
  checkCount('index', index);
}

const sha256Pattern = /^[0-9a-f]{64}$/;

/** Validates a log segment and stamps it. */
export function buildLogSegment(input: NewLogSegment, createdAt: string): LogSegmentRecord {
  if (typeof input !== 'object' || input === null) fail('segment', 'expected an object');
  checkSegmentKey(input.symbol, input.index);
  const cid = (field: string, value: unknown) => {
    if (typeof value !== 'string' || !/^[a-z0-9]{10,200}$/i.test(value)) fail(field, `expected a CID, got ${describe(value)}`);
    return value;
  };
  const first = input.index === 0;
  if (first !== (input.previous === null) || first !== (input.after === null)) fail('previous', 'segment 0 and only it names no previous segment (previous and after null)');
  const segment: LogSegmentRecord = {
    symbol: input.symbol, index: input.index, cid: cid('cid', input.cid),
    previous: input.previous === null ? null : cid('previous', input.previous),
    after: input.after === null ? null : checkLedgerPoint('after', input.after),
    firstId: checkLedgerPoint('firstId', input.firstId), lastId: checkLedgerPoint('lastId', input.lastId),
    entries: checkCount('entries', input.entries), bytes: checkCount('bytes', input.bytes),
    sha256: typeof input.sha256 === 'string' && sha256Pattern.test(input.sha256) ? input.sha256 : fail('sha256', 'expected 64 lowercase hex digits'),
    createdAt,
  };
  if (segment.entries < 1) fail('entries', 'a segment holds at least one entry');
  return segment;
}

/** Whether two records describe the same segment (createdAt aside). */
export function sameLogSegment(a: NewLogSegment, b: NewLogSegment): boolean {
  return a.symbol === b.symbol && a.index === b.index && a.cid === b.cid && a.previous === b.previous && a.after === b.after
    && a.firstId === b.firstId && a.lastId === b.lastId && a.entries === b.entries && a.bytes === b.bytes && a.sha256 === b.sha256;
}

/**
 * What a store checks before it records `segment` after `last` (the token's last segment now):
 * 'same' when it is that segment again, 'next' when it extends the chain; otherwise it throws.
 */
export function planLogSegment(segment: LogSegmentRecord, atIndex: LogSegmentRecord | null, last: LogSegmentRecord | null): 'same' | 'next' {
  if (atIndex !== null) {
    if (sameLogSegment(atIndex, segment)) return 'same';
    throw new LogSegmentConflictError(`log segment ${segment.index} of ${segment.symbol} is already recorded as ${atIndex.cid}, not ${segment.cid}`);
  }
  const expected = last === null ? 0 : last.index + 1;
  if (segment.index !== expected) throw new LogSegmentConflictError(`the next log segment of ${segment.symbol} is ${expected}, not ${segment.index}`);
  if (last !== null && (segment.previous !== last.cid || segment.after !== last.lastId)) {
    throw new LogSegmentConflictError(`log segment ${segment.index} of ${segment.symbol} must name segment ${last.index} (${last.cid}, up to ${last.lastId})`);
  }
  return 'next';
}
