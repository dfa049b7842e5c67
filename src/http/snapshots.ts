// The snapshot routes of docs/rest.md: requests (any user), reads (any user), content streamed from
// IPFS (NDJSON, or CSV on Accept: text/csv), and recurring schedules (admins).
import { Readable, pipeline } from 'node:stream';
import type { RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { SnapshotService } from '../snapshots/service.ts';
import { combinationSourcesMax, excludeAccountsMax, InvalidCursorError, snapshotStatuses, idPattern } from '../snapshots/store/metadata-store.ts';
import { isAmount } from '../identifiers.ts';
import { ndjsonToCsv } from '../snapshots/snapshot-format.ts';
import { diffSnapshots, merkleInfo, proveHolder } from '../snapshots/products.ts';
import { callerOf, requireAdmin } from './auth.ts';
import { isLedgerSnapshotRequest, ledgerSnapshotBody, requestLedgerSnapshot, requireContentReader } from './ledger-history.ts';
import { HttpError } from './errors.ts';
import { bodySchema, errors, jsonAnswer, type OpenApiAddition } from './openapi.ts';
import { routerFromSpecs, type RouteSpec } from './routes.ts';
import { limitSchema, parse } from './schemas.ts';

const tokenIdChars = 80;
/** The content as a CAR file (the IPFS gateway's media type), for pinning services. */
const carType = 'application/vnd.ipld.car';
const idSchema = z.string().regex(idPattern, { error: 'must be a snapshot id (UUIDv7)' });
const cursorSchema = z.string().max(200);

const accountIdSchema = z.string().regex(/^(0|[1-9]\d{0,18})\.(0|[1-9]\d{0,18})\.(0|[1-9]\d{0,18})$/, { error: 'must be a Hedera account id such as 0.0.1234' });
/** minBalance in base units, exclude (accounts or `treasury`), minCount for NFTs (docs/snapshot-products.md). */
export const filtersSchema = z.strictObject({
  minBalance: z.string().regex(/^(0|[1-9][0-9]{0,77})$/, { error: 'must be a base-unit integer as a decimal string' }).refine(isAmount, { error: 'must be at most 2^256-1' }).optional(),
  exclude: z.array(z.union([z.literal('treasury'), accountIdSchema])).max(excludeAccountsMax).optional(),
  minCount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});
/** One token of a combination. */
const combinationTokenSchema = z.strictObject({ tokenId: z.string().min(1).max(tokenIdChars), filters: filtersSchema.optional() });
type Target = { tokenId?: string | undefined; filters?: unknown; tokens?: unknown[] | undefined; combine?: string | undefined };
// The rules a request and a schedule share: one token, or a whole combination.
const oneTarget = { check: (b: Target) => (b.tokenId !== undefined) !== (b.tokens !== undefined), tokenId: { error: 'give tokenId (one token) or tokens (a combination), not both', path: ['tokenId'] } };
const combinationComplete = { check: (b: Target) => (b.tokens !== undefined) === (b.combine !== undefined), combine: { error: 'a combination needs both tokens and combine', path: ['combine'] } };
const filtersPerToken = { check: (b: Target) => b.tokens === undefined || b.filters === undefined, filters: { error: 'a combination takes filters per token (tokens[].filters)', path: ['filters'] } };
/** `tokenId` (and its filters) for one token, or `tokens` and `combine` for a combination. */
export const requestSnapshotBody = z.strictObject({
  tokenId: z.string().min(1).max(tokenIdChars).optional(),
  timestamp: z.string().max(32).optional(),
  filters: filtersSchema.optional(),
  tokens: z.array(combinationTokenSchema).min(2).max(combinationSourcesMax).optional(),
  combine: z.enum(['all', 'any']).optional(),
}).refine(oneTarget.check, oneTarget.tokenId).refine(combinationComplete.check, combinationComplete.combine).refine(filtersPerToken.check, filtersPerToken.filters);
export const listSnapshotsQuery = z.strictObject({
  tokenId: z.string().min(1).max(tokenIdChars).optional(),
  status: z.enum(snapshotStatuses).optional(),
  limit: limitSchema(20, 100),
  cursor: cursorSchema.optional(),
});
/** The options of a request (one token with filters, or a combination) and `every`. */
export const createScheduleBody = z.strictObject({
  tokenId: z.string().min(1).max(tokenIdChars).optional(),
  every: z.string().min(1).max(100),
  filters: filtersSchema.optional(),
  tokens: z.array(combinationTokenSchema).min(2).max(combinationSourcesMax).optional(),
  combine: z.enum(['all', 'any']).optional(),
}).refine(oneTarget.check, oneTarget.tokenId).refine(combinationComplete.check, combinationComplete.combine).refine(filtersPerToken.check, filtersPerToken.filters);
const listSchedulesQuery = z.strictObject({ tokenId: z.string().min(1).max(tokenIdChars).optional(), limit: limitSchema(20, 100), cursor: cursorSchema.optional() });
const idParams = z.strictObject({ id: idSchema });
const proofParams = z.strictObject({ id: idSchema, account: accountIdSchema });
const diffParams = z.strictObject({ id: idSchema, other: idSchema });

/** The store names its own field (nextCursor); REST clients know it as `next`. */
async function listed<T>(page: Promise<T>): Promise<T> {
  try {
    return await page;
  } catch (error) {
    if (error instanceof InvalidCursorError) throw new HttpError('INVALID_CURSOR', 'query.cursor: must be the next of a previous page, unchanged');
    throw error;
  }
}

/**
 * Streams stored bytes from IPFS: NDJSON, or CSV through ndjsonToCsv. The first chunk is pulled
 * before answering, so a missing block is a clean error, not a cut body.
 */
type StoredFormat = 'ndjson' | 'csv' | 'car';

/** The stored bytes as NDJSON, CSV, or the CID's DAG as a CAR file; the first chunk is pulled before answering, so a missing block is a clean error, not a cut body. */
async function sendStored(service: SnapshotService, res: Response, stored: { cid: string; bytes: number | null; format: StoredFormat }): Promise<void> {
  const { format } = stored;
  const iterator = (format === 'car' ? service.ipfs.exportCar(stored.cid) : service.ipfs.cat(stored.cid))[Symbol.asyncIterator]();
  const first = await iterator.next();
  const source = Readable.from((async function* () {
    if (!first.done) yield first.value;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  })());
  res.status(200).setHeader('Content-Type', format === 'car' ? carType : format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
  res.setHeader('ETag', `"${stored.cid}${format === 'ndjson' ? '' : `.${format}`}"`);
  res.setHeader('X-Content-Cid', stored.cid);
  res.setHeader('Vary', 'Accept');
  res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
  if (format === 'ndjson' && stored.bytes !== null) res.setHeader('Content-Length', String(stored.bytes));
  pipeline(format === 'csv' ? [source, ndjsonToCsv(), res] : [source, res], () => {});
}

/** Snapshots: request, list, read, content. */
function snapshotRoutes(service: SnapshotService): RouteSpec[] {
  const { store } = service;

  const requestLedger = requestLedgerSnapshot(service);
  const requestSnapshot: RequestHandler = async (req, res, next) => {
    if (isLedgerSnapshotRequest(req.body)) return requestLedger(req, res, next);
    const body = parse('body', requestSnapshotBody, req.body);
    const { snapshotId, jobId } = await service.request({ ...body, requestedBy: callerOf(res).account });
    res.status(202).location(`/v1/snapshots/${snapshotId}`).json({ snapshotId, jobId });
  };

  const list: RequestHandler = async (req, res) => {
    const query = parse('query', listSnapshotsQuery, req.query);
    const page = await listed(store.list({ limit: query.limit,
      ...(query.tokenId ? { tokenId: query.tokenId } : {}), ...(query.status ? { status: query.status } : {}), ...(query.cursor ? { cursor: query.cursor } : {}) }));
    res.json({ snapshots: page.items, next: page.nextCursor });
  };

  const get: RequestHandler = async (req, res) => {
    const { id } = parse('params', idParams, req.params);
    const record = await store.get(id);
    if (!record) throw new HttpError('NOT_FOUND', `snapshot ${id} not found`);
    res.json(record);
  };

  const content: RequestHandler = async (req, res) => {
    const { id } = parse('params', idParams, req.params);
    const record = await store.get(id);
    if (!record) throw new HttpError('NOT_FOUND', `snapshot ${id} not found`);
    requireContentReader(res, record);
    if (record.status !== 'completed' || !record.cid) throw new HttpError('NOT_READY', `snapshot ${id} is ${record.status}; its content exists once it is completed`);
    const accepted = req.accepts(['application/x-ndjson', 'text/csv', carType]);
    await sendStored(service, res, { cid: record.cid, bytes: record.bytes, format: accepted === 'text/csv' ? 'csv' : accepted === carType ? 'car' : 'ndjson' });
  };

  /** A ledger snapshot's holders are admin-only (ledger-history.ts): so is what is derived from them. */
  const requireReaderOf = async (res: Response, ...ids: string[]) => {
    for (const id of ids) {
      const record = await store.get(id);
      if (record) requireContentReader(res, record);
    }
  };

  const diff: RequestHandler = async (req, res) => {
    const { id, other } = parse('params', diffParams, req.params);
    await requireReaderOf(res, id, other);
    const stored = await diffSnapshots(service, id, other);
    res.setHeader('X-Diff-Counts', `gained=${stored.gained}, lost=${stored.lost}, changed=${stored.changed}`);
    await sendStored(service, res, { cid: stored.cid, bytes: stored.bytes, format: 'ndjson' });
  };

  const merkle: RequestHandler = async (req, res) => {
    const { id } = parse('params', idParams, req.params);
    await requireReaderOf(res, id);
    res.json(await merkleInfo(service, id));
  };

  const proof: RequestHandler = async (req, res) => {
    const { id, account } = parse('params', proofParams, req.params);
    await requireReaderOf(res, id);
    res.json(await proveHolder(service, id, account));
  };

  return [
    { method: 'post', path: '/snapshots', handlers: [requestSnapshot] },
    { method: 'get', path: '/snapshots/:id/merkle', handlers: [merkle] },
    { method: 'get', path: '/snapshots/:id/proofs/:account', handlers: [proof] },
    { method: 'get', path: '/snapshots/:id/diff/:other', handlers: [diff] },
    { method: 'get', path: '/snapshots', handlers: [list] },
    { method: 'get', path: '/snapshots/:id', handlers: [get] },
    { method: 'get', path: '/snapshots/:id/content', handlers: [content] },
  ];
}

/** Schedules of recurring snapshots (admin). */
function scheduleRoutes(service: SnapshotService): RouteSpec[] {
  const { store } = service;

  const createSchedule: RequestHandler = async (req, res) => {
    const body = parse('body', createScheduleBody, req.body);
    const schedule = await service.createSchedule({ ...body, createdBy: callerOf(res).account });
    res.status(201).location(`/v1/snapshot-schedules/${schedule.id}`).json(schedule);
  };

  const listSchedules: RequestHandler = async (req, res) => {
    const query = parse('query', listSchedulesQuery, req.query);
    const page = await listed(store.listSchedules({ limit: query.limit, ...(query.tokenId ? { tokenId: query.tokenId } : {}), ...(query.cursor ? { cursor: query.cursor } : {}) }));
    res.json({ schedules: page.items, next: page.nextCursor });
  };

  const getSchedule: RequestHandler = async (req, res) => {
    const { id } = parse('params', idParams, req.params);
    const schedule = await store.getSchedule(id);
    if (!schedule) throw new HttpError('NOT_FOUND', `schedule ${id} not found`);
    res.json(schedule);
  };

  const deleteSchedule: RequestHandler = async (req, res) => {
    const { id } = parse('params', idParams, req.params);
    if (!(await service.deleteSchedule(id))) throw new HttpError('NOT_FOUND', `schedule ${id} not found`);
    res.status(204).end();
  };

  return [
    { method: 'post', path: '/snapshot-schedules', handlers: [requireAdmin, createSchedule] },
    { method: 'get', path: '/snapshot-schedules', handlers: [requireAdmin, listSchedules] },
    { method: 'get', path: '/snapshot-schedules/:id', handlers: [requireAdmin, getSchedule] },
    { method: 'delete', path: '/snapshot-schedules/:id', handlers: [requireAdmin, deleteSchedule] },
  ];
}


export function createSnapshotsRouter(service: SnapshotService) {
  const routes = [...snapshotRoutes(service), ...scheduleRoutes(service)];
  return { router: routerFromSpecs(routes), routes };
}

const idParam = [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }];
const query = (name: string, description: string) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } });
const limitParam = (max: number) => query('limit', `1..${max}, default 20`);
const cursorParam = query('cursor', 'the `next` of the previous page');
// The codes each route may answer besides those of every route (src/http/openapi.ts errors).
const invalidBody = ['INVALID_ARGUMENT', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const;
const invalidTokenId = ['INVALID_ENTITY_ID', 'INVALID_CHECKSUM'] as const;
const unknownId = ['INVALID_ARGUMENT', 'INVALID_ID', 'NOT_FOUND'] as const;
const scheduleWrite = ['FORBIDDEN', 'SCHEDULER_UNAVAILABLE', 'SCHEDULE_BUSY'] as const;

// Every operation uses the document's global `bearer` security (src/http/openapi.ts).
export const snapshotsOpenApi: OpenApiAddition = {
  schemas: { SnapshotRecord: { type: 'object', description: 'The metadata record of docs/snapshot-format.md' } },
  paths: {
    '/v1/snapshots': {
      post: { summary: 'Request a snapshot of every holder of a Hedera token', operationId: 'requestSnapshot',
        description: 'With `ledgerToken` instead of `tokenId`: a snapshot of a Tally token at `at` (an event id or an ISO 8601 time; default the last event), admins only; the reply adds the `eventId` it resolved to.',
        requestBody: { required: true, content: { 'application/json': { schema: { oneOf: [bodySchema(requestSnapshotBody), bodySchema(ledgerSnapshotBody)] } } } },
        responses: { ...jsonAnswer(202, 'queued', { type: 'object', properties: { snapshotId: { type: 'string' }, jobId: { type: 'string' }, eventId: { type: 'string' } } }),
          ...errors(...invalidBody, ...invalidTokenId, 'INVALID_TIMESTAMP', 'INVALID_AT', 'INVALID_TOKEN', 'TOKEN_NOT_FOUND', 'FORBIDDEN', 'SCHEDULER_UNAVAILABLE') } },
      get: { summary: 'List snapshots, newest first', operationId: 'listSnapshots',
        parameters: [query('tokenId', 'only this token'), query('status', 'only this status'), limitParam(100), cursorParam],
        responses: { ...jsonAnswer(200, 'a page; next is null after the last page'), ...errors('INVALID_ARGUMENT', 'INVALID_CURSOR') } },
    },
    '/v1/snapshots/{id}': { get: { summary: 'A snapshot record', operationId: 'getSnapshot', parameters: idParam, responses: { ...jsonAnswer(200, 'the record', { $ref: '#/components/schemas/SnapshotRecord' }), ...errors(...unknownId) } } },
    '/v1/snapshots/{id}/content': { get: { summary: 'The stored bytes (NDJSON; CSV on Accept: text/csv; a CAR file on Accept: application/vnd.ipld.car)', operationId: 'getSnapshotContent', parameters: idParam,
      responses: { 200: { description: 'the snapshot', content: { 'application/x-ndjson': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } }, [carType]: { schema: { type: 'string', format: 'binary' } } } }, ...errors(...unknownId, 'NOT_READY', 'CONTENT_NOT_FOUND', 'FORBIDDEN') } } },
    '/v1/snapshots/{id}/merkle': { get: { summary: 'The Merkle root of the holders (OpenZeppelin StandardMerkleTree, leaves ["address","uint256"])', operationId: 'getSnapshotMerkle', parameters: idParam,
      responses: { ...jsonAnswer(200, '{root, leafEncoding, leaves, treeCid}', { type: 'object', properties: { root: { type: 'string' }, leafEncoding: { type: 'array', items: { type: 'string' } }, leaves: { type: 'integer' }, treeCid: { type: 'string' } } }),
        ...errors(...unknownId, 'SNAPSHOT_NOT_FOUND', 'NOT_READY', 'NO_MERKLE_TREE', 'CONTENT_NOT_FOUND') } } },
    '/v1/snapshots/{id}/proofs/{account}': { get: { summary: 'The Merkle proof of one holder', operationId: 'getSnapshotProof',
      parameters: [...idParam, { name: 'account', in: 'path', required: true, schema: { type: 'string' }, description: 'a Hedera account id, 0.0.N' }],
      responses: { ...jsonAnswer(200, '{account, address, amount, proof}', { type: 'object', properties: { account: { type: 'string' }, address: { type: 'string' }, amount: { type: 'string' }, proof: { type: 'array', items: { type: 'string' } } } }),
        ...errors(...unknownId, 'SNAPSHOT_NOT_FOUND', 'NOT_READY', 'NO_MERKLE_TREE', 'NOT_A_HOLDER', 'CONTENT_NOT_FOUND') } } },
    '/v1/snapshots/{id}/diff/{other}': { get: { summary: 'Who gained, lost or changed a balance from this snapshot to the other one (same token), NDJSON', operationId: 'getSnapshotDiff',
      parameters: [...idParam, { name: 'other', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      responses: { 200: { description: 'the diff; its CID in X-Content-Cid and ETag, the counts in X-Diff-Counts', content: { 'application/x-ndjson': { schema: { type: 'string' } } } },
        ...errors(...unknownId, 'SNAPSHOT_NOT_FOUND', 'NOT_READY', 'SNAPSHOTS_NOT_COMPARABLE', 'CONTENT_NOT_FOUND') } } },
    '/v1/snapshot-schedules': {
      post: { summary: 'Create a recurring snapshot (admin)', operationId: 'createSnapshotSchedule',
        requestBody: { required: true, content: { 'application/json': { schema: bodySchema(createScheduleBody) } } },
        responses: { ...jsonAnswer(201, 'created'), ...errors(...invalidBody, ...invalidTokenId, 'INVALID_SCHEDULE', ...scheduleWrite) } },
      get: { summary: 'List recurring snapshots (admin)', operationId: 'listSnapshotSchedules', parameters: [query('tokenId', 'only this token'), limitParam(100), cursorParam],
        responses: { ...jsonAnswer(200, 'a page; next is null after the last page'), ...errors('INVALID_ARGUMENT', 'INVALID_CURSOR', 'FORBIDDEN') } },
    },
    '/v1/snapshot-schedules/{id}': {
      get: { summary: 'A recurring snapshot (admin)', operationId: 'getSnapshotSchedule', parameters: idParam, responses: { ...jsonAnswer(200, 'the schedule'), ...errors(...unknownId, 'FORBIDDEN') } },
      delete: { summary: 'Delete a recurring snapshot (admin)', operationId: 'deleteSnapshotSchedule', parameters: idParam, responses: { 204: { description: 'deleted' }, ...errors(...unknownId, ...scheduleWrite) } },
    },
  },
};
