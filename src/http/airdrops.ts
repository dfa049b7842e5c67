// The airdrop routes of docs/rest.md (admin): request an airdrop of a Tally token from a snapshot,
// list and read them, stream a plan, resume a failed one. The request is planned before the 202:
// every refusal (unknown snapshot, not ready, pays nothing, not enough funds) comes back at once,
// with nothing stored or paid. An Idempotency-Key is scoped to its caller like every REST key
// (idempotency.ts): the same request under it answers the same airdrop, another one 409 OP_CONFLICT.
import { Readable, pipeline } from 'node:stream';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { AirdropService } from '../airdrops/service.ts';
import { airdropStatuses, excludeAccountsMax } from '../airdrops/store/airdrop-store.ts';
import { amountPattern, isAmount } from '../identifiers.ts';
import { idPattern, InvalidCursorError } from '../snapshots/store/metadata-store.ts';
import { callerOf, requireAdmin } from './auth.ts';
import { HttpError } from './errors.ts';
import { callerOpId } from './idempotency.ts';
import { bodySchema, errors, jsonAnswer, type OpenApiAddition } from './openapi.ts';
import { routerFromSpecs, type RouteSpec } from './routes.ts';
import { accountSchema, limitSchema, parse, symbolSchema } from './schemas.ts';

const idSchema = z.string().regex(idPattern, { error: 'must be an id (a lowercase UUIDv7)' });
/** A base-unit amount 0..2^256-1 (0 is accepted here: a rule paying 0 to everyone is AIRDROP_PAYS_NOTHING). */
const amountSchema = z.string()
  .regex(amountPattern, { error: 'must be a base-unit integer as a decimal string, e.g. "1500000"', abort: true })
  .refine(isAmount, { error: 'must be in 0..2^256-1' });

export const requestAirdropBody = z.strictObject({
  snapshotId: idSchema,
  from: accountSchema.optional(),
  rule: z.enum(['fixed', 'proRata']),
  amount: amountSchema.optional(),
  total: amountSchema.optional(),
  minBalance: amountSchema.optional(),
  exclude: z.array(accountSchema).max(excludeAccountsMax).optional(),
})
  .refine((b) => b.rule !== 'fixed' || (b.amount !== undefined && b.total === undefined), { error: 'rule fixed takes amount (what each holder gets), not total', path: ['rule'] })
  .refine((b) => b.rule !== 'proRata' || (b.total !== undefined && b.amount === undefined), { error: 'rule proRata takes total (what all holders get together), not amount', path: ['rule'] });

const listQuery = z.strictObject({ status: z.enum(airdropStatuses).optional(), limit: limitSchema(20, 100), cursor: z.string().max(200).optional() });
const symbolParams = z.strictObject({ sym: symbolSchema });
const idParams = z.strictObject({ sym: symbolSchema, id: idSchema });

export function createAirdropsRouter(service: AirdropService) {
  const requestAirdrop: RequestHandler = async (req, res) => {
    const { sym } = parse('params', symbolParams, req.params);
    const body = parse('body', requestAirdropBody, req.body);
    const caller = callerOf(res);
    const key = callerOpId(caller, req.get('idempotency-key'));
    const { record } = await service.request({ ...body, symbol: sym, requestedBy: caller.account, ...(key ? { idempotencyKey: key } : {}) });
    // Built from the record's fixed fields only, so a repeat answers the same body.
    res.status(202).location(`/v1/tokens/${sym}/airdrops/${record.airdropId}`)
      .json({ airdropId: record.airdropId, planCid: record.planCid, legs: record.legs, total: record.total });
  };

  const list: RequestHandler = async (req, res) => {
    const { sym } = parse('params', symbolParams, req.params);
    const query = parse('query', listQuery, req.query);
    try {
      const page = await service.list({ symbol: sym, limit: query.limit, ...(query.status ? { status: query.status } : {}), ...(query.cursor ? { cursor: query.cursor } : {}) });
      res.json({ airdrops: page.items, next: page.nextCursor });
    } catch (error) {
      if (error instanceof InvalidCursorError) throw new HttpError('INVALID_CURSOR', 'query.cursor: must be the next of a previous page, unchanged');
      throw error;
    }
  };

  const get: RequestHandler = async (req, res) => {
    const { sym, id } = parse('params', idParams, req.params);
    res.json(await service.get(sym, id));
  };

  /** The plan's NDJSON from IPFS; the first chunk is pulled before answering (a missing block is a clean error). */
  const plan: RequestHandler = async (req, res) => {
    const { sym, id } = parse('params', idParams, req.params);
    const record = await service.get(sym, id);
    const iterator = service.ipfs.cat(record.planCid)[Symbol.asyncIterator]();
    const first = await iterator.next();
    const source = Readable.from((async function* () {
      if (!first.done) yield first.value;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    })());
    res.status(200).setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('Content-Length', String(record.planBytes));
    res.setHeader('X-Content-Cid', record.planCid);
    res.setHeader('ETag', `"${record.planCid}"`);
    pipeline(source, res, () => {});
  };

  const resume: RequestHandler = async (req, res) => {
    const { sym, id } = parse('params', idParams, req.params);
    await service.get(sym, id);
    const record = await service.resume(id);
    res.status(202).json({ airdropId: record.airdropId, status: record.status });
  };

  const routes: RouteSpec[] = [
    { method: 'post', path: '/tokens/:sym/airdrops', handlers: [requireAdmin, requestAirdrop] },
    { method: 'get', path: '/tokens/:sym/airdrops', handlers: [requireAdmin, list] },
    { method: 'get', path: '/tokens/:sym/airdrops/:id', handlers: [requireAdmin, get] },
    { method: 'get', path: '/tokens/:sym/airdrops/:id/plan', handlers: [requireAdmin, plan] },
    { method: 'post', path: '/tokens/:sym/airdrops/:id/resume', handlers: [requireAdmin, resume] },
  ];
  return { router: routerFromSpecs(routes), routes };
}

const symParam = { name: 'sym', in: 'path', required: true, description: 'the Tally token paid in', schema: { $ref: '#/components/schemas/Symbol' } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const unknownAirdrop = ['INVALID_ARGUMENT', 'INVALID_TOKEN', 'FORBIDDEN', 'AIRDROP_NOT_FOUND'] as const;

// Every operation uses the document's global `bearer` security (src/http/openapi.ts).
export const airdropsOpenApi: OpenApiAddition = {
  schemas: { AirdropRecord: { type: 'object', description: 'The airdrop record of docs/airdrops.md' } },
  paths: {
    '/v1/tokens/{sym}/airdrops': {
      post: {
        summary: 'Airdrop a Tally token to the holders of a completed snapshot (admin): planned at once, paid by a worker',
        description: 'Every leg is computed and stored on IPFS (planCid) before the 202; refusals (unknown or unfinished snapshot, a rule paying no one, `from` short of the whole plan) store and pay nothing. `from` defaults to the token\'s treasury.',
        operationId: 'requestAirdrop',
        parameters: [symParam, {
          name: 'Idempotency-Key', in: 'header', required: false, schema: { $ref: '#/components/schemas/OpId' },
          description: 'the same request under the same key answers the same airdrop (202, same body) and pays nothing more; another request under it, 409 OP_CONFLICT',
        }],
        requestBody: { required: true, content: { 'application/json': { schema: bodySchema(requestAirdropBody) } } },
        responses: {
          ...jsonAnswer(202, 'planned and queued', { type: 'object', properties: { airdropId: { type: 'string' }, planCid: { type: 'string' }, legs: { type: 'integer' }, total: { $ref: '#/components/schemas/Amount' } }, required: ['airdropId', 'planCid', 'legs', 'total'] }),
          ...errors('INVALID_ARGUMENT', 'INVALID_TOKEN', 'INVALID_ACCOUNT', 'INVALID_AMOUNT', 'INVALID_ID', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE',
            'FORBIDDEN', 'TOKEN_NOT_FOUND', 'SNAPSHOT_NOT_FOUND', 'NOT_READY', 'OP_CONFLICT', 'AIRDROP_PAYS_NOTHING', 'AIRDROP_SOURCE_UNSUPPORTED', 'INSUFFICIENT_FUNDS',
            'INVALID_SNAPSHOT_CONTENT', 'CONTENT_NOT_FOUND', 'SCHEDULER_UNAVAILABLE'),
        },
      },
      get: {
        summary: 'The token\'s airdrops, newest first (admin)', operationId: 'listAirdrops',
        parameters: [symParam, { name: 'status', in: 'query', required: false, schema: { enum: [...airdropStatuses] } },
          { name: 'limit', in: 'query', required: false, description: '1..100, default 20', schema: { type: 'string' } },
          { name: 'cursor', in: 'query', required: false, description: 'the `next` of the previous page', schema: { type: 'string' } }],
        responses: { ...jsonAnswer(200, '{airdrops, next}; next is null after the last page'), ...errors('INVALID_ARGUMENT', 'INVALID_TOKEN', 'INVALID_CURSOR', 'FORBIDDEN') },
      },
    },
    '/v1/tokens/{sym}/airdrops/{id}': {
      get: { summary: 'An airdrop record (admin)', operationId: 'getAirdrop', parameters: [symParam, idParam],
        responses: { ...jsonAnswer(200, 'the record', { $ref: '#/components/schemas/AirdropRecord' }), ...errors(...unknownAirdrop) } },
    },
    '/v1/tokens/{sym}/airdrops/{id}/plan': {
      get: { summary: 'The plan: every leg, as NDJSON from IPFS (admin)', operationId: 'getAirdropPlan', parameters: [symParam, idParam],
        responses: { 200: { description: 'the plan of docs/airdrops.md; its CID in X-Content-Cid', content: { 'application/x-ndjson': { schema: { type: 'string' } } } },
          ...errors(...unknownAirdrop, 'CONTENT_NOT_FOUND') } },
    },
    '/v1/tokens/{sym}/airdrops/{id}/resume': {
      post: { summary: 'Queue a failed airdrop again: it resumes at its first chunk not paid (admin); other statuses are left as they are', operationId: 'resumeAirdrop',
        parameters: [symParam, idParam],
        responses: { ...jsonAnswer(202, '{airdropId, status}'), ...errors(...unknownAirdrop, 'SCHEDULER_UNAVAILABLE') } },
    },
  },
};
