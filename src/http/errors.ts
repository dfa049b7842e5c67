// The one error middleware of the HTTP API. Every failure reaches the client as JSON
// {"error":{"code","message"}} with the status of its code in the one catalog (src/errors.ts):
// every TallyError (ledger, HTTP, snapshot, store, scheduler) is answered with its own code, and
// the failures of libraries (zod, express-jwt, body-parser, redis) are mapped to catalog codes.
// Never a stack trace; a 500 is logged with its stack and answered with a fixed sentence.
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { UnauthorizedError } from 'express-jwt';
import {
  ClientClosedError, ClientOfflineError, ConnectionTimeoutError, ReconnectStrategyError,
  RootNodesUnavailableError, SocketClosedUnexpectedlyError, SocketTimeoutError, TimeoutError,
} from 'redis';
import { z } from 'zod';
import { errorCatalog, TallyError, type ErrorCode } from '../errors.ts';
import type { LedgerErrorCode } from '../ledger/errors.ts';
import type { Logger } from '../logger.ts';

/** An expected failure raised by a route or middleware, with any catalog code. */
export class HttpError extends TallyError {}

export interface ErrorBody { error: { code: string; message: string } }

/**
 * Which ledger code a field's validation failure carries, so that REST answers with the code
 * FCALL would give for the same value (all are 400). Other fields: INVALID_ARGUMENT.
 */
const fieldCodes: Record<string, LedgerErrorCode> = {
  sym: 'INVALID_TOKEN', symbol: 'INVALID_TOKEN', name: 'INVALID_TOKEN', decimals: 'INVALID_TOKEN', totalSupply: 'INVALID_TOKEN',
  account: 'INVALID_ACCOUNT', from: 'INVALID_ACCOUNT', to: 'INVALID_ACCOUNT', treasury: 'INVALID_ACCOUNT',
  amount: 'INVALID_AMOUNT', total: 'INVALID_AMOUNT',
};

/** A request part that failed its schema: 'body', 'query', 'params' or 'headers'. */
export class RequestValidationError extends Error {
  readonly part: string;
  readonly issues: z.core.$ZodIssue[];

  constructor(part: string, error: z.ZodError) {
    super(`invalid ${part}`);
    this.name = 'RequestValidationError';
    this.part = part;
    this.issues = error.issues;
  }
}

function describeIssue(part: string, issue: z.core.$ZodIssue): { code: ErrorCode; message: string } {
  const field = [part === 'params' ? '' : part, ...issue.path.map(String)].filter(Boolean).join('.');
  if (issue.code === 'unrecognized_keys') {
    return { code: 'INVALID_ARGUMENT', message: `${field || part}: unknown ${issue.keys.length > 1 ? 'keys' : 'key'} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}` };
  }
  const last = [...issue.path].reverse().find((p) => typeof p === 'string');
  const code = last === undefined ? 'INVALID_ARGUMENT' : fieldCodes[last] ?? 'INVALID_ARGUMENT';
  return { code, message: `${field || part}: ${issue.message}` };
}

const issuesReportedMax = 5;

function describeIssues(part: string, issues: z.core.$ZodIssue[]): { code: ErrorCode; message: string } {
  const described = issues.slice(0, issuesReportedMax).map((issue) => describeIssue(part, issue));
  return { code: described[0]!.code, message: described.map((d) => d.message).join('; ') };
}

const redisDownErrors = [
  ClientClosedError, ClientOfflineError, ConnectionTimeoutError, ReconnectStrategyError, RootNodesUnavailableError,
  SocketClosedUnexpectedlyError, SocketTimeoutError, TimeoutError,
];
const socketErrorCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** True for the failures of an unreachable or unresponsive Redis (as opposed to a bug). */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (redisDownErrors.some((type) => error instanceof type)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && socketErrorCodes.has(code)) return true;
  return /^(LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY) /.test(error.message);
}

/** Maps body-parser / http-errors failures (which carry `type` and `status`) to codes. */
function fromHttpErrorsShape(error: { type?: unknown; status?: unknown; message: string }): { code: ErrorCode; message: string } | undefined {
  const status = typeof error.status === 'number' ? error.status : undefined;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  switch (error.type) {
    case 'entity.parse.failed': return { code: 'INVALID_JSON', message: 'the body is not valid JSON (a JSON object is expected)' };
    case 'entity.too.large': return { code: 'PAYLOAD_TOO_LARGE', message: 'the body is larger than the limit of this server' };
    case 'encoding.unsupported':
    case 'charset.unsupported': return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'the body must be JSON in UTF-8' };
    default: break;
  }
  if (status === 413) return { code: 'PAYLOAD_TOO_LARGE', message: 'the body is larger than the limit of this server' };
  if (status === 415) return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'the body must be JSON in UTF-8' };
  // A path segment with a broken %-escape, an aborted body, a bad Content-Length, ...
  return { code: 'INVALID_ARGUMENT', message: 'the request could not be read' };
}

export interface ErrorMiddlewareDeps {
  logger: Logger;
  /** Called once per error response (metrics). */
  onError?: (code: string, error: unknown) => void;
}

/** Classifies any thrown value into the code, status and message the client sees. */
export function classifyError(error: unknown): { code: ErrorCode; status: number; message: string; unexpected: boolean } {
  let known: { code: ErrorCode; message: string } | undefined;
  if (error instanceof TallyError) known = { code: error.code, message: error.message };
  else if (error instanceof RequestValidationError) known = describeIssues(error.part, error.issues);
  else if (error instanceof z.ZodError) known = describeIssue('request', error.issues[0]!);
  else if (error instanceof UnauthorizedError) known = { code: 'UNAUTHENTICATED', message: unauthenticatedMessage(error) };
  else if (isRedisUnavailable(error)) known = { code: 'UNAVAILABLE', message: 'the ledger is unavailable, retry later' };
  else if (error instanceof Error) known = fromHttpErrorsShape(error as Error & { type?: unknown; status?: unknown });
  if (known) return { ...known, status: errorCatalog[known.code].status, unexpected: false };
  return { code: 'INTERNAL', status: 500, message: 'internal error', unexpected: true };
}

function unauthenticatedMessage(error: UnauthorizedError): string {
  switch (error.code) {
    case 'credentials_required': return 'a bearer token is required (Authorization: Bearer <JWT>)';
    case 'credentials_bad_scheme':
    case 'credentials_bad_format': return 'the Authorization header must be "Bearer <JWT>"';
    case 'revoked_token': return 'the token has been revoked';
    default: break;
  }
  const inner = (error.inner as { name?: unknown } | undefined)?.name;
  if (inner === 'TokenExpiredError') return 'the token has expired';
  if (inner === 'NotBeforeError') return 'the token is not valid yet';
  return 'the token is invalid';
}

export function sendError(res: Response, status: number, code: string, message: string): void {
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  const body: ErrorBody = { error: { code, message } };
  res.status(status).json(body);
}

/** The last middleware of the app. */
export function errorMiddleware(deps: ErrorMiddlewareDeps): ErrorRequestHandler {
  return (error, req, res, next) => {
    const { code, status, message, unexpected } = classifyError(error);
    const log = (res.locals.log as Logger | undefined) ?? deps.logger;
    if (unexpected) log.error({ err: error }, 'unexpected error');
    else if (code === 'UNAVAILABLE') log.warn({ err: { message: (error as Error).message } }, 'dependency unavailable');
    deps.onError?.(code, error);
    if (res.headersSent) {
      // Too late for a JSON error: cut the connection so the client sees a failure, not a truncated 200.
      next(error);
      return;
    }
    sendError(res, status, code, message);
  };
}

/** 404 for every path no router answered. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError('NOT_FOUND', `no route for ${req.method} ${req.path.slice(0, 200)}`));
};
