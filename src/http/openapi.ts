// The OpenAPI 3.1 document of the HTTP API, served at GET /openapi.json. Request bodies are
// generated from the same zod schemas that validate them; error responses name codes of the
// one catalog (src/errors.ts), and the Error schema lists every code of it with its status.
// Extensions (snapshot routes) merge their own paths.
// test/http/ops.test.ts fails when a registered route is missing here; test/http/openapi.test.ts
// lints the document (refs, security schemes, operationIds, path parameters).
import { z } from 'zod';
import { errorCatalog, type ErrorCode } from '../errors.ts';
import { tallyVersion } from '../version.ts';
import { batchBody, burnBody, createTokenBody, pageLimitMax, transferBody } from './schemas.ts';

type Json = Record<string, unknown>;

export interface OpenApiAddition {
  paths?: Record<string, Json>;
  schemas?: Record<string, Json>;
}

/** The JSON Schema of what a zod schema accepts (the input side), without its `$schema` line. */
export const bodySchema = (schema: z.ZodType): Json => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Json;
  return rest;
};

/** A JSON answer of one status, for the route additions (snapshots, airdrops). */
export const jsonAnswer = (status: number, description: string, schema: Json = { type: 'object' }) =>
  ({ [String(status)]: { description, content: { 'application/json': { schema } } } });

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, description: string) => ({ description, content: { 'application/json': { schema } } });

/** One response per status, naming the codes that share it (plus those every route may answer). */
export function errors(...codes: ErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of [...codes, 'UNAUTHENTICATED', 'RATE_LIMITED', 'INTERNAL', 'UNAVAILABLE'] as ErrorCode[]) {
    const status = errorCatalog[code].status;
    if (!byStatus.get(status)?.includes(code)) byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries([...byStatus].sort(([a], [b]) => a - b).map(([status, list]) => [String(status), json(ref('Error'), list.join(', '))]));
}

const invalidInput: ErrorCode[] = ['INVALID_ARGUMENT', 'INVALID_TOKEN', 'INVALID_ACCOUNT', 'INVALID_AMOUNT'];
const invalidBody: ErrorCode[] = [...invalidInput, 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];

const param = (name: string, description: string, schema: Json, where: 'path' | 'query' = 'path', required = where === 'path') =>
  ({ name, in: where, required, description, schema });
const symParam = param('sym', 'token symbol', ref('Symbol'));
const atParam = param('at', 'as of this point of the log: an event id ms-seq or an ISO 8601 time (exact, from the nearest ledger snapshot and the log after it)', { type: 'string', maxLength: 64 }, 'query');
const historyErrors: ErrorCode[] = ['INVALID_AT', 'HISTORY_TOO_FAR', 'INVALID_SNAPSHOT_CONTENT'];
const limitParam = param('limit', `1..${pageLimitMax}, default 100`, { type: 'string', pattern: '^[1-9][0-9]{0,3}$' }, 'query');
const idempotencyHeader = {
  name: 'Idempotency-Key', in: 'header', required: false, schema: ref('OpId'),
  description: 'the ledger opId: a repeat with the same parameters returns the first answer (status and body) and moves nothing; with other parameters it fails with 409 OP_CONFLICT',
};

const tokenPaths: Record<string, Json> = {
  '/v1/tokens': {
    post: {
      summary: 'Create a token (admin); the treasury receives the whole supply',
      operationId: 'createToken',
      requestBody: { required: true, content: { 'application/json': { schema: ref('CreateToken') } } },
      responses: {
        201: json(ref('CreateToken'), 'created'),
        200: json(ref('CreateToken'), 'the token already exists with identical parameters'),
        ...errors(...invalidBody, 'FORBIDDEN', 'TOKEN_EXISTS'),
      },
    },
    get: {
      summary: 'List token symbols in ascending order, one page at a time',
      operationId: 'listTokens',
      parameters: [param('cursor', 'the `next` of the previous page (the last symbol it held)', ref('Symbol'), 'query'), param('prefix', 'only the symbols that start with it', ref('Symbol'), 'query'), limitParam],
      responses: {
        200: json({ type: 'object', properties: { symbols: { type: 'array', items: ref('Symbol') }, next: { type: ['string', 'null'] } }, required: ['symbols', 'next'] }, 'at most limit symbols, ascending; next is null on the last page'),
        ...errors('INVALID_ARGUMENT'),
      },
    },
  },
  '/v1/tokens/{sym}': {
    get: {
      summary: 'Token info, supply and holder count',
      operationId: 'getToken',
      parameters: [symParam],
      responses: { 200: json(ref('TokenInfo'), 'the token'), ...errors(...invalidInput, 'TOKEN_NOT_FOUND') },
    },
  },
  '/v1/tokens/{sym}/balances/{account}': {
    get: {
      summary: 'One balance (the account itself or an admin)',
      operationId: 'getBalance',
      parameters: [symParam, param('account', 'ledger account', ref('Account')), atParam],
      responses: {
        200: json({ type: 'object', properties: { account: ref('Account'), balance: ref('Amount'), eventId: { type: 'string', description: 'with at: the event id it resolved to' } }, required: ['account', 'balance'] }, 'the balance, "0" for an unknown account'),
        ...errors(...invalidInput, 'FORBIDDEN', 'TOKEN_NOT_FOUND', ...historyErrors),
      },
    },
  },
  '/v1/tokens/{sym}/holders': {
    get: {
      summary: 'Top holders, balance descending (ties by account ascending), one page at a time; pages reach the top 1000 holders',
      operationId: 'getHolders',
      parameters: [symParam, limitParam, param('cursor', 'the `next` of the previous page', { type: 'string' }, 'query'), atParam],
      responses: {
        200: json({ type: 'object', properties: { holders: { type: 'array', items: ref('Holder') }, next: { type: ['string', 'null'] }, eventId: { type: 'string', description: 'with at: the event id it resolved to; pass it as at for the next pages' } }, required: ['holders', 'next'] }, 'the holders after the cursor; next is null on the last page (or at the 1000th holder)'),
        ...errors(...invalidInput, 'TOKEN_NOT_FOUND', ...historyErrors),
      },
    },
  },
  '/v1/tokens/{sym}/events': {
    get: {
      summary: 'History from the token log (admin, or a user for account=own)',
      operationId: 'getEvents',
      parameters: [
        symParam,
        param('after', "event id to read after, '-' (default) for the start. With a bounded log (LEDGER_LOG_RETENTION_ENTRIES), an id before the trim point, '-' included, answers 410 LOG_TRIMMED naming the last trimmed id: read on after it (the entries up to it are in the archives: as-of reads, ledger snapshots, tally verify-log)", { type: 'string', pattern: '^(-|[0-9]+-[0-9]+)$' }, 'query'),
        limitParam,
        param('account', 'only events touching this account (required for non-admins: their own)', ref('Account'), 'query'),
      ],
      responses: {
        200: json({
          type: 'object',
          properties: {
            events: { type: 'array', items: ref('Event') },
            next: { type: ['string', 'null'], description: 'pass as after for the next page; null once the end of the log is reached' },
            tail: { type: 'string', description: 'always set: pass as after to poll for events committed later (tailing)' },
          },
          required: ['events', 'next', 'tail'],
        }, 'events, oldest first'),
        ...errors(...invalidInput, 'FORBIDDEN', 'TOKEN_NOT_FOUND', 'LOG_TRIMMED'),
      },
    },
  },
  '/v1/tokens/{sym}/audit': {
    get: {
      summary: 'The invariant checker (admin): the log replayed gives the balances and supplies, every holder ranked once, ledger_top equals the sorted balances, opId records parse',
      operationId: 'auditToken',
      parameters: [symParam],
      responses: {
        200: json({
          type: 'object',
          properties: {
            symbol: { type: 'string' }, ok: { type: 'boolean', description: 'true only when every invariant holds' },
            violations: { type: 'array', items: { type: 'string' }, description: 'at most 100, one sentence each' },
            violationCount: { type: 'integer' }, holders: { type: 'integer' }, logEntries: { type: 'integer' },
          },
          required: ['symbol', 'ok', 'violations', 'violationCount', 'holders', 'logEntries'],
        }, 'the report, with or without violations'),
        ...errors('INVALID_TOKEN', 'FORBIDDEN', 'TOKEN_NOT_FOUND', 'RATE_LIMITED'),
      },
    },
  },
  '/v1/tokens/{sym}/transfers': {
    post: {
      summary: 'Transfer (from = the caller unless an admin names another account)',
      operationId: 'transfer',
      parameters: [symParam, idempotencyHeader],
      requestBody: { required: true, content: { 'application/json': { schema: ref('Transfer') } } },
      responses: {
        201: json({ type: 'object', properties: { eventId: { type: 'string' }, fromBalance: ref('Amount'), toBalance: ref('Amount') }, required: ['eventId', 'fromBalance', 'toBalance'] }, 'committed'),
        ...errors(...invalidBody, 'FORBIDDEN', 'TOKEN_NOT_FOUND', 'OP_CONFLICT', 'SAME_ACCOUNT', 'INSUFFICIENT_FUNDS'),
      },
    },
  },
  '/v1/tokens/{sym}/transfers/batch': {
    post: {
      summary: 'Atomic multi-leg transfer (admin): all legs apply, in order, or none',
      operationId: 'transferBatch',
      parameters: [symParam, idempotencyHeader],
      requestBody: { required: true, content: { 'application/json': { schema: ref('TransferBatch') } } },
      responses: {
        201: json({ type: 'object', properties: { eventId: { type: 'string' }, legs: { type: 'integer' } }, required: ['eventId', 'legs'] }, 'committed'),
        ...errors(...invalidBody, 'FORBIDDEN', 'TOKEN_NOT_FOUND', 'OP_CONFLICT', 'SAME_ACCOUNT', 'INSUFFICIENT_FUNDS'),
      },
    },
  },
  '/v1/tokens/{sym}/burns': {
    post: {
      summary: 'Burn (account = the caller unless an admin names another account)',
      operationId: 'burn',
      parameters: [symParam, idempotencyHeader],
      requestBody: { required: true, content: { 'application/json': { schema: ref('Burn') } } },
      responses: {
        201: json({ type: 'object', properties: { eventId: { type: 'string' }, balance: ref('Amount'), circulatingSupply: ref('Amount') }, required: ['eventId', 'balance', 'circulatingSupply'] }, 'committed'),
        ...errors(...invalidBody, 'FORBIDDEN', 'TOKEN_NOT_FOUND', 'OP_CONFLICT', 'INSUFFICIENT_FUNDS'),
      },
    },
  },
};

const publicPaths: Record<string, Json> = {
  '/healthz': {
    get: {
      summary: 'Liveness, with the version of this server', operationId: 'healthz', security: [],
      responses: { 200: json({ type: 'object', properties: { status: { const: 'ok' }, version: { type: 'string' } }, required: ['status', 'version'] }, 'alive') },
    },
  },
  '/readyz': {
    get: {
      summary: 'Readiness: Redis answers and the ledger library is loaded (plus extension checks)',
      operationId: 'readyz', security: [],
      responses: { 200: json({ type: 'object' }, 'ready'), 503: json({ type: 'object' }, 'a dependency is down, or the server is shutting down') },
    },
  },
  '/metrics': { get: { summary: 'Prometheus metrics', operationId: 'metrics', security: [], responses: { 200: { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
  '/openapi.json': { get: { summary: 'This document', operationId: 'openapi', security: [], responses: { 200: json({ type: 'object' }, 'OpenAPI 3.1') } } },
};

const schemas: Record<string, Json> = {
  Symbol: { type: 'string', pattern: '^[A-Z0-9][A-Z0-9_-]{0,31}$' },
  Account: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$' },
  OpId: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' },
  Amount: { type: 'string', pattern: '^(0|[1-9][0-9]*)$', maxLength: 78, description: 'base-unit integer as a decimal string, at most 2^256 - 1' },
  CreateToken: bodySchema(createTokenBody),
  Transfer: bodySchema(transferBody),
  TransferBatch: bodySchema(batchBody),
  Burn: bodySchema(burnBody),
  TokenInfo: {
    type: 'object',
    properties: {
      name: { type: 'string' }, symbol: ref('Symbol'), decimals: { type: 'integer' }, totalSupply: ref('Amount'),
      circulatingSupply: ref('Amount'), treasury: ref('Account'), createdAt: { type: 'integer', description: 'ms since the epoch' },
      opTtlSeconds: { type: 'integer' }, holders: { type: 'integer', description: 'accounts with a non-zero balance' },
    },
  },
  Holder: { type: 'object', properties: { account: ref('Account'), balance: ref('Amount') }, required: ['account', 'balance'] },
  Event: {
    type: 'object',
    properties: {
      id: { type: 'string' }, type: { enum: ['init', 'transfer', 'burn', 'batch'] }, ts: { type: 'integer' },
      from: ref('Account'), to: ref('Account'), account: ref('Account'), amount: ref('Amount'), opId: ref('OpId'),
      name: { type: 'string' }, decimals: { type: 'integer' },
      legs: { type: 'array', description: 'a batch\'s legs; filtered by account, only the legs touching it', items: { type: 'object', properties: { from: ref('Account'), to: ref('Account'), amount: ref('Amount') } } },
      n: { type: 'integer', description: 'a batch\'s leg count, all legs' },
      legIndexes: { type: 'array', description: 'filtered by account: the 1-based places of `legs` in the batch', items: { type: 'integer' } },
    },
    required: ['id', 'type', 'ts'],
  },
};

function errorSchema(): Json {
  return {
    type: 'object',
    properties: {
      error: {
        type: 'object',
        properties: { code: { enum: Object.keys(errorCatalog) }, message: { type: 'string' } },
        required: ['code', 'message'],
      },
    },
    required: ['error'],
    description: Object.entries(errorCatalog).map(([code, { status, retryable, description }]) =>
      `${code} (${status}${retryable ? ', retryable' : ''}): ${description}`).join('\n'),
  };
}

export function openApiDocument(additions: OpenApiAddition[] = []): Json {
  const paths: Record<string, Json> = { ...publicPaths, ...tokenPaths };
  const allSchemas: Record<string, Json> = { ...schemas };
  for (const addition of additions) {
    Object.assign(paths, addition.paths);
    Object.assign(allSchemas, addition.schemas);
  }
  allSchemas.Error = errorSchema();
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tally',
      version: tallyVersion,
      description: 'An exact, atomic, idempotent token ledger on Redis Functions. Amounts are base-unit integers as decimal strings.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: '`sub` = the caller\'s ledger account; `roles` containing "admin" grants admin' } },
      schemas: allSchemas,
    },
  };
}
