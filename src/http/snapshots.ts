// The snapshot routes of docs/rest.md: requests (any user), reads (any user), content streamed from
// IPFS (NDJSON, or CSV on Accept: text/csv), and recurring schedules (admins).
import { Readable, pipeline } from 'node:stream';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { SnapshotService } from '../snapshots/service.ts';
import { InvalidCursorError, snapshotStatuses, idPattern } from '../snapshots/store/metadata-store.ts';
import { ndjsonToCsv } from '../snapshots/snapshot-format.ts';
import { callerOf, requireAdmin } from './auth.ts';
import { isLedgerSnapshotRequest, ledgerSnapshotBody, requestLedgerSnapshot, requireContentReader } from './ledger-history.ts';
import { HttpError } from './errors.ts';
import { errors, type OpenApiAddition } from './openapi.ts';
import { routerFromSpecs, type RouteSpec } from './routes.ts';
import { limitSchema, parse } from './schemas.ts';

const tokenIdChars = 80;
const idSchema = z.string().regex(idPattern, { error: 'must be a snapshot id (UUIDv7)' });
const cursorSchema = z.string().max(200);

export const requestSnapshotBody = z.strictObject({
  tokenId: z.string().min(1).max(tokenIdChars),
  timestamp: z.string().max(32).optional(),
});
export const listSnapshotsQuery = z.strictObject({
  tokenId: z.string().min(1).max(tokenIdChars).optional(),
  status: z.enum(snapshotStatuses).optional(),
  limit: limitSchema(20, 100),
  cursor: cursorSchema.optional(),
});
export const createScheduleBody = z.strictObject({
  tokenId: z.string().min(1).max(tokenIdChars),
  every: z.string().min(1).max(100),
});
const listSchedulesQuery = z.strictObject({ tokenId: z.string().min(1).max(tokenIdChars).optional(), limit: limitSchema(20, 100), cursor: cursorSchema.optional() });
const idParams = z.strictObject({ id: idSchema });

/** The store names its own field (nextCursor); REST clients know it as `next`. */
async function listed<T>(page: Promise<T>): Promise<T> {
  try {
    return await page;
  } catch (error) {
    if (error instanceof InvalidCursorError) throw new HttpError('INVALID_CURSOR', 'query.cursor: must be the next of a previous page, unchanged');
    throw error;
  }
}

/** Snapshots: request, list, read, content. */
function snapshotRoutes(service: SnapshotService): RouteSpec[] {
  const { store } = service;

  const requestLedger = requestLedgerSnapshot(service);
  const requestSnapshot: RequestHandler = async (req, res, next) => {
    if (isLedgerSnapshotRequest(req.body)) return requestLedger(req, res, next);
    const body = parse('body', requestSnapshotBody, req.body);
    const { snapshotId, jobId } = await service.request({ tokenId: body.tokenId, requestedBy: callerOf(res).account, ...(body.timestamp !== undefined ? { timestamp: body.timestamp } : {}) });
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
    const csv = req.accepts(['application/x-ndjson', 'text/csv']) === 'text/csv';
    // Pull the first chunk before answering, so a missing block is a clean error, not a cut body.
    const iterator = service.ipfs.cat(record.cid)[Symbol.asyncIterator]();
    const first = await iterator.next();
    const source = Readable.from((async function* () {
      if (!first.done) yield first.value;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    })());
    res.status(200).setHeader('Content-Type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.setHeader('ETag', `"${record.cid}"`);
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    if (!csv && record.bytes !== null) res.setHeader('Content-Length', String(record.bytes));
    pipeline(csv ? [source, ndjsonToCsv(), res] : [source, res], () => {});
  };

  return [
    { method: 'post', path: '/snapshots', handlers: [requestSnapshot] },
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

const jsonSchema = (schema: z.ZodType) => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return rest;
};
const ok = (status: number, description: string, schema: Record<string, unknown> = { type: 'object' }) =>
  ({ [String(status)]: { description, content: { 'application/json': { schema } } } });
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
        requestBody: { required: true, content: { 'application/json': { schema: { oneOf: [jsonSchema(requestSnapshotBody), jsonSchema(ledgerSnapshotBody)] } } } },
        responses: { ...ok(202, 'queued', { type: 'object', properties: { snapshotId: { type: 'string' }, jobId: { type: 'string' }, eventId: { type: 'string' } } }),
          ...errors(...invalidBody, ...invalidTokenId, 'INVALID_TIMESTAMP', 'INVALID_AT', 'INVALID_TOKEN', 'TOKEN_NOT_FOUND', 'FORBIDDEN', 'SCHEDULER_UNAVAILABLE') } },
      get: { summary: 'List snapshots, newest first', operationId: 'listSnapshots',
        parameters: [query('tokenId', 'only this token'), query('status', 'only this status'), limitParam(100), cursorParam],
        responses: { ...ok(200, 'a page; next is null after the last page'), ...errors('INVALID_ARGUMENT', 'INVALID_CURSOR') } },
    },
    '/v1/snapshots/{id}': { get: { summary: 'A snapshot record', operationId: 'getSnapshot', parameters: idParam, responses: { ...ok(200, 'the record', { $ref: '#/components/schemas/SnapshotRecord' }), ...errors(...unknownId) } } },
    '/v1/snapshots/{id}/content': { get: { summary: 'The stored bytes (NDJSON, or CSV on Accept: text/csv)', operationId: 'getSnapshotContent', parameters: idParam,
      responses: { 200: { description: 'the snapshot', content: { 'application/x-ndjson': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } } } }, ...errors(...unknownId, 'NOT_READY', 'CONTENT_NOT_FOUND', 'FORBIDDEN') } } },
    '/v1/snapshot-schedules': {
      post: { summary: 'Create a recurring snapshot (admin)', operationId: 'createSnapshotSchedule',
        requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(createScheduleBody) } } },
        responses: { ...ok(201, 'created'), ...errors(...invalidBody, ...invalidTokenId, 'INVALID_SCHEDULE', ...scheduleWrite) } },
      get: { summary: 'List recurring snapshots (admin)', operationId: 'listSnapshotSchedules', parameters: [query('tokenId', 'only this token'), limitParam(100), cursorParam],
        responses: { ...ok(200, 'a page; next is null after the last page'), ...errors('INVALID_ARGUMENT', 'INVALID_CURSOR', 'FORBIDDEN') } },
    },
    '/v1/snapshot-schedules/{id}': {
      get: { summary: 'A recurring snapshot (admin)', operationId: 'getSnapshotSchedule', parameters: idParam, responses: { ...ok(200, 'the schedule'), ...errors(...unknownId, 'FORBIDDEN') } },
      delete: { summary: 'Delete a recurring snapshot (admin)', operationId: 'deleteSnapshotSchedule', parameters: idParam, responses: { 204: { description: 'deleted' }, ...errors(...unknownId, ...scheduleWrite) } },
    },
  },
};
