// The /v1/tokens routes of docs/rest.md. Each handler: validate (zod, strict), authorize, call the
// ledger, answer. Write answers are built only from the ledger's reply, so an idempotent replay
// (same Idempotency-Key, same parameters: the Lua returns the recorded reply) gets the same
// status and the same body as the first call. Idempotency keys are scoped to the caller (idempotency.ts).
import type { RequestHandler, Router } from 'express';
import type { Ledger } from '../ledger/client.ts';
import type { LogArchive } from '../ledger/log-segments.ts';
import type { AsOf } from './ledger-history.ts';
import { callerOf, requireAdmin, requireSelfOrAdmin } from './auth.ts';
import { HttpError } from './errors.ts';
import { callerOpId } from './idempotency.ts';
import { routerFromSpecs, type RouteSpec } from './routes.ts';
import {
  balanceParams, balanceQuery, batchBody, burnBody, createTokenBody, encodeHoldersCursor, eventsQuery, holdersQuery,
  listTokensQuery, parse, symbolParams, transferBody,
} from './schemas.ts';

export interface TokensDeps {
  ledger: Ledger;
  /** The `?at=` reads (ledger-history.ts); absent: `at` is refused. */
  asOf?: AsOf;
  /** The archived log segments, for the audit of a trimmed log. */
  archive?: LogArchive;
}

/** The routes that read a token: the list, its info, a balance, the holders, the events. */
function readRoutes({ ledger, asOf }: TokensDeps): RouteSpec[] {
  const requireAsOf = (): AsOf => {
    if (!asOf) throw new HttpError('INVALID_ARGUMENT', 'query.at: this server answers no as-of reads');
    return asOf;
  };
  const listTokens: RequestHandler = async (req, res) => {
    const query = parse('query', listTokensQuery, req.query);
    try {
      const page = await ledger.listTokens({ limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}), ...(query.prefix ? { prefix: query.prefix } : {}) });
      res.json({ symbols: page.symbols, next: page.cursor });
    } catch (error) {
      if (error instanceof RangeError) throw new HttpError('INVALID_ARGUMENT', 'query.cursor: must be the next of a previous page (a token symbol)');
      throw error;
    }
  };

  const tokenInfo: RequestHandler = async (req, res) => {
    const { sym } = parse('params', symbolParams, req.params);
    res.json(await ledger.info(sym));
  };

  const balance: RequestHandler = async (req, res) => {
    const { sym, account } = parse('params', balanceParams, req.params);
    const { at } = parse('query', balanceQuery, req.query);
    requireSelfOrAdmin(callerOf(res), account);
    res.json(at === undefined ? { account, balance: await ledger.balance(sym, account) } : await requireAsOf().balance(sym, account, at));
  };

  const holders: RequestHandler = async (req, res) => {
    const { sym } = parse('params', symbolParams, req.params);
    const { limit, cursor, at } = parse('query', holdersQuery, req.query);
    const query = { limit, ...(cursor ? { after: cursor } : {}) };
    const page = at === undefined ? await ledger.holdersPage(sym, query) : await requireAsOf().holders(sym, at, query);
    res.json({ holders: page.holders, next: page.next ? encodeHoldersCursor(page.next) : null, ...('eventId' in page ? { eventId: page.eventId } : {}) });
  };

  const events: RequestHandler = async (req, res) => {
    const { sym } = parse('params', symbolParams, req.params);
    const query = parse('query', eventsQuery, req.query);
    const caller = callerOf(res);
    if (!caller.admin && query.account !== caller.account) {
      throw new HttpError('FORBIDDEN', `only admins may read every event; pass account=${caller.account} for your own`);
    }
    const page = await ledger.events(sym, {
      count: query.limit,
      ...(query.after ? { after: query.after } : {}),
      ...(query.account ? { account: query.account } : {}),
    });
    // `next` is null once the log's end is reached; `tail` is always where to poll for new events.
    res.json({ events: page.events, next: page.end ? null : page.next, tail: page.next });
  };

  return [
    { method: 'get', path: '/tokens', handlers: [listTokens] },
    { method: 'get', path: '/tokens/:sym', handlers: [tokenInfo] },
    { method: 'get', path: '/tokens/:sym/balances/:account', handlers: [balance] },
    { method: 'get', path: '/tokens/:sym/holders', handlers: [holders] },
    { method: 'get', path: '/tokens/:sym/events', handlers: [events] },
  ];
}

/** The routes that write: create a token, transfer, batch, burn. */
function writeRoutes({ ledger }: TokensDeps): RouteSpec[] {
  const createToken: RequestHandler = async (req, res) => {
    const body = parse('body', createTokenBody, req.body);
    const { symbol, ...params } = body;
    const outcome = await ledger.init(symbol, params);
    res.status(outcome === 'created' ? 201 : 200).location(`/v1/tokens/${symbol}`).json(body);
  };

  const transfer: RequestHandler = async (req, res) => {
    const { sym } = parse('params', symbolParams, req.params);
    const body = parse('body', transferBody, req.body);
    const caller = callerOf(res);
    const opId = callerOpId(caller, req.get('idempotency-key'));
    const from = body.from ?? caller.account;
    requireSelfOrAdmin(caller, from);
    const receipt = await ledger.transfer(sym, { from, to: body.to, amount: body.amount, ...(opId ? { opId } : {}) });
    res.status(201).json({ eventId: receipt.eventId, fromBalance: receipt.fromBalance, toBalance: receipt.toBalance });
  };

  const transferBatch: RequestHandler = async (req, res) => {
    const { sym } = parse('params', symbolParams, req.params);
    const body = parse('body', batchBody, req.body);
    const opId = callerOpId(callerOf(res), req.get('idempotency-key'));
    const receipt = await ledger.transferBatch(sym, { legs: body.legs, ...(opId ? { opId } : {}) });
    res.status(201).json({ eventId: receipt.eventId, legs: receipt.legs });
  };

  const burn: RequestHandler = async (req, res) => {
    const { sym } = parse('params', symbolParams, req.params);
    const body = parse('body', burnBody, req.body);
    const caller = callerOf(res);
    const opId = callerOpId(caller, req.get('idempotency-key'));
    const account = body.account ?? caller.account;
    requireSelfOrAdmin(caller, account);
    const receipt = await ledger.burn(sym, { account, amount: body.amount, ...(opId ? { opId } : {}) });
    res.status(201).json({ eventId: receipt.eventId, balance: receipt.balance, circulatingSupply: receipt.circulatingSupply });
  };

  return [
    { method: 'post', path: '/tokens', handlers: [requireAdmin, createToken] },
    { method: 'post', path: '/tokens/:sym/transfers', handlers: [transfer] },
    { method: 'post', path: '/tokens/:sym/transfers/batch', handlers: [requireAdmin, transferBatch] },
    { method: 'post', path: '/tokens/:sym/burns', handlers: [burn] },
  ];
}

/**
 * GET /tokens/:sym/audit (admin): the invariant checker of src/ledger/audit.ts, 200 with its
 * report whether or not it found violations (`ok`). One audit at a time per API process: it
 * pages through the whole log (each Redis call bounded, the request long for a big token), so a
 * second request gets 429 instead of doubling the load.
 */
function auditRoute({ ledger, archive }: TokensDeps): RouteSpec {
  let running = false;
  const audit: RequestHandler = async (req, res) => {
    const { sym } = parse('params', symbolParams, req.params);
    if (running) throw new HttpError('RATE_LIMITED', 'an audit is already running on this API process; retry when it is done');
    running = true;
    try {
      res.json(await ledger.audit(sym, archive ? { archive } : {}));
    } finally {
      running = false;
    }
  };
  return { method: 'get', path: '/tokens/:sym/audit', handlers: [requireAdmin, audit] };
}

function tokenRoutes(deps: TokensDeps): RouteSpec[] {
  return [...writeRoutes(deps), ...readRoutes(deps), auditRoute(deps)];
}


/** Paths are relative to /v1. `routes` is exported for the OpenAPI coverage test. */
export function createTokensRouter(deps: TokensDeps): { router: Router; routes: RouteSpec[] } {
  const routes = tokenRoutes(deps);
  return { router: routerFromSpecs(routes), routes };
}
