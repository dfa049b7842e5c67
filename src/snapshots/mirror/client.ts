// The Hedera mirror node REST client of the snapshot pipeline (docs/snapshot-format.md): token info at a
// timestamp, the latest balance snapshot timestamp, the highest account id, and every holder of a token at one pinned timestamp,
// page by page. Polite (client-wide rate limit, retries with backoff honouring Retry-After
// and X-Retry-In, a timeout on every request), exact (lossless JSON: balances exceed 2^53)
// and suspicious (next links may not leave the configured origin and path; pages must share
// one consensus timestamp and ascend by account; every limit is named and enforced).

import { isLosslessNumber, parse as parseLosslessJson } from 'lossless-json';
import pRetry, { AbortError } from 'p-retry';
import type { RetryContext } from 'p-retry';
import {
  HederaTokenNotFoundError,
  MirrorProtocolError,
  MirrorSnapshotChangedError,
  MirrorRequestError,
  MirrorUnavailableError,
  SnapshotError,
} from '../errors.ts';
import { compareEntityIds, isCanonicalEntityId, parseEntityId, timestampPattern } from '../hedera-ids.ts';
import type { EntityId, HederaNetwork } from '../hedera-ids.ts';
import { fetchHttpGet, nodeHttpGet, type HttpAnswer, type HttpGet } from './http.ts';
import type { Holder } from '../snapshot-format.ts';
import { sleep } from '../../time.ts';
import { isAmount } from '../../identifiers.ts';

/** Rows per balances page: the mirror node's maximum (larger limits are silently capped). */
export const balancePageRows = 100;

export interface MirrorClientOptions {
  /** Origin plus optional path prefix in front of `/api/v1`, e.g. https://mainnet.mirrornode.hedera.com */
  baseUrl: string;
  /** Client-wide requests per second; 0 or Infinity turns the limit off. */
  rps: number;
  requestTimeoutMs: number;
  /** Attempts per request, first one included (>= 1). */
  maxAttempts: number;
  /** First retry delay; doubles per attempt, times a random factor in [1, 2) (jitter). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** A Retry-After / X-Retry-In longer than this is shortened to it: attempts stay bounded in time too. */
  retryAfterMaxMs?: number;
  /** Bound on pages of one balancePages run (100 rows each). */
  balancePagesMax?: number;
  /** Bound on one response body; a page of 100 rows is about 8 KiB. */
  responseBytesMax?: number;
  /** Network used to check HIP-15 checksums of token ids given with one; null for a custom mirror node. */
  network?: HederaNetwork | null;
  /** Requests go through this fetch instead of node:http (e.g. one that knows a proxy). */
  fetch?: typeof fetch;
  /** Called once per HTTP attempt (metrics, logs). */
  onRequest?: (event: MirrorRequestEvent) => void;
}

export interface MirrorRequestEvent {
  url: string;
  attempt: number;
  status: number | null;
  durationMs: number;
  error: string | null;
}

export interface HederaTokenInfo {
  tokenId: string;
  name: string;
  symbol: string;
  decimals: number;
  /** Base units, decimal string. */
  totalSupply: string;
  type: string;
  /** The treasury account (`treasury_account_id`), null when the mirror node names none. */
  treasury: string | null;
}

/** A holder as the mirror node lists it; balances are > 0 (zero balances are dropped). */
export type { Holder };

export interface BalancePage {
  holders: Holder[];
  /** The consensus timestamp the mirror node answered from; null only on an empty page. */
  timestamp: string | null;
  /** Last account read so far: resume after it with `afterAccount` (a checkpoint). */
  lastAccount: string | null;
}

export interface BalancePagesOptions {
  /** Start after this account (`account.id=gt:X`), to resume from a checkpoint. */
  afterAccount?: string;
  /**
   * The balance snapshot the pages must come from (a resumed run's checkpoint): a page from any
   * other fails with MirrorSnapshotChangedError before its rows reach the caller.
   */
  expectedTimestamp?: string;
  signal?: AbortSignal;
}

export interface Nft {
  serial: number;
  /** null for a burned serial. */
  account: string | null;
  deleted: boolean;
}

export interface NftPage {
  nfts: Nft[];
}

export interface NftPagesOptions {
  /** Only this account's serials (`account.id=`). */
  accountId?: string;
  signal?: AbortSignal;
}

export interface TokenRequestOptions extends RequestOptions {
  /** The token as it was at this consensus timestamp (`?timestamp=`); absent: today's token. */
  timestamp?: string;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface MirrorClient {
  readonly baseUrl: string;
  getToken(tokenId: string, options?: TokenRequestOptions): Promise<HederaTokenInfo>;
  /** Consensus timestamp of the latest balance snapshot, `seconds.nanoseconds`. */
  latestTimestamp(options?: RequestOptions): Promise<string>;
  /** The highest account id on the network (`/accounts?order=desc&limit=1`), null when there is none. */
  highestAccount(options?: RequestOptions): Promise<string | null>;
  balancePages(tokenId: string, timestamp: string, options?: BalancePagesOptions): AsyncGenerator<BalancePage>;
  /**
   * The serials of an NFT token as they are now (`/tokens/{id}/nfts` has no timestamp), by serial
   * ascending, optionally of one account only; deleted (burned) serials included, flagged.
   * Optional for wrappers that only ever see fungible tokens (the benchmark's counting client).
   */
  nftPages?(tokenId: string, options?: NftPagesOptions): AsyncGenerator<NftPage>;
  /** Stops the rate limiter; later calls fail. */
  close(): Promise<void>;
}

const defaults = {
  retryBaseDelayMs: 250,
  retryMaxDelayMs: 10_000,
  retryAfterMaxMs: 60_000,
  balancePagesMax: 1_000_000,
  responseBytesMax: 4 * 1024 * 1024,
};
const retryableStatuses = new Set([429, 500, 502, 503, 504]);
/** Token names and symbols are at most 100 bytes on Hedera; this only stops junk. */
const tokenTextCharsMax = 1000;
const tokenTypes = new Set(['FUNGIBLE_COMMON', 'NON_FUNGIBLE_UNIQUE']);

type Settings = Required<Omit<MirrorClientOptions, 'network' | 'fetch' | 'onRequest'>> & {
  network: HederaNetwork | null;
  fetch: typeof fetch | null;
  onRequest: MirrorClientOptions['onRequest'];
};

export function createMirrorClient(options: MirrorClientOptions): MirrorClient {
  const settings = resolveSettings(options);
  const base = parseBaseUrl(settings.baseUrl);
  const http = createHttp(settings);
  return {
    baseUrl: base.href,
    getToken: (tokenId, requestOptions = {}) => getToken(http, base, settings, tokenId, requestOptions),
    latestTimestamp: (requestOptions = {}) => latestTimestamp(http, base, requestOptions),
    highestAccount: (requestOptions = {}) => highestAccount(http, base, requestOptions),
    balancePages: (tokenId, timestamp, pageOptions = {}) => balancePages(http, base, settings, tokenId, timestamp, pageOptions),
    nftPages: (tokenId, pageOptions = {}) => nftPages(http, base, settings, tokenId, pageOptions),
    close: () => http.close(),
  };
}

/**
 * GET of one mirror-node path under `/api/v1/`, with this client's rate limit, retries, timeouts
 * and lossless JSON: for readers outside the snapshot pipeline (the Hedera airdrop plan,
 * src/airdrops/hedera/mirror.ts), which parse what they read themselves. `notFound` turns a 404
 * into the caller's error; without it a 404 is MIRROR_REJECTED.
 */
export interface MirrorReader {
  readonly baseUrl: string;
  getJson(path: string, options?: { signal?: AbortSignal; notFound?: () => Error }): Promise<unknown>;
  close(): Promise<void>;
}

/** A path this reader may request: `/api/v1/` then URL-safe characters only (no `..`, no other origin). */
const readerPathPattern = /^\/api\/v1\/[A-Za-z0-9._~\-/]+(\?[A-Za-z0-9._~\-=&:]*)?$/;

export function createMirrorReader(options: MirrorClientOptions): MirrorReader {
  const settings = resolveSettings(options);
  const base = parseBaseUrl(settings.baseUrl);
  const http = createHttp(settings);
  return {
    baseUrl: base.href,
    getJson(path, requestOptions = {}) {
      if (!readerPathPattern.test(path) || path.includes('..')) throw new RangeError(`refusing mirror node path ${describe(path)}`);
      return http.getJson(`${base.origin}${base.prefix}${path}`, requestOptions);
    },
    close: () => http.close(),
  };
}

// ---------------------------------------------------------------- endpoints

interface Base {
  origin: string;
  /** Path prefix before /api/v1, without trailing slash ('' at the root). */
  prefix: string;
  href: string;
}

async function getToken(http: Http, base: Base, settings: Settings, tokenId: string, options: TokenRequestOptions): Promise<HederaTokenInfo> {
  const id = parseEntityId(tokenId, { network: settings.network }).id;
  const { timestamp } = options;
  if (timestamp !== undefined && (typeof timestamp !== 'string' || !timestampPattern.test(timestamp))) {
    throw new MirrorProtocolError(`timestamp ${describe(timestamp)} is not seconds.nanoseconds`);
  }
  const url = `${base.origin}${base.prefix}/api/v1/tokens/${id}${timestamp === undefined ? '' : `?timestamp=${timestamp}`}`;
  const body = await http.getJson(url, { signal: options.signal, notFound: () => new HederaTokenNotFoundError(id) });
  return parseTokenInfo(body, id);
}

async function latestTimestamp(http: Http, base: Base, options: RequestOptions): Promise<string> {
  // With a timestamp filter the mirror node answers from its balance snapshots (the latest one
  // at or before the filter), which is what token balances at a timestamp are read from.
  // Without one it answers live balances, whose timestamp is not a snapshot's.
  const url = `${base.origin}${base.prefix}/api/v1/balances?limit=1&timestamp=lte:${formatNow()}`;
  const body = await http.getJson(url, { signal: options.signal });
  const timestamp = field(body, 'timestamp');
  if (timestamp === null) throw new MirrorProtocolError('the mirror node reports no balance snapshot yet');
  if (typeof timestamp !== 'string' || !timestampPattern.test(timestamp)) {
    throw new MirrorProtocolError(`the mirror node reported an invalid snapshot timestamp ${describe(timestamp)}`);
  }
  return timestamp;
}

async function highestAccount(http: Http, base: Base, options: RequestOptions): Promise<string | null> {
  const body = await http.getJson(`${base.origin}${base.prefix}/api/v1/accounts?order=desc&limit=1`, { signal: options.signal });
  const accounts = field(body, 'accounts');
  if (!Array.isArray(accounts) || accounts.length > 1) throw new MirrorProtocolError('accounts must be an array of at most 1 row');
  if (accounts.length === 0) return null;
  const account = field(accounts[0], 'account');
  if (typeof account !== 'string' || !isCanonicalEntityId(account)) {
    throw new MirrorProtocolError(`accounts row has an invalid account ${describe(account)}`);
  }
  return account;
}

async function* balancePages(
  http: Http,
  base: Base,
  settings: Settings,
  tokenId: string,
  timestamp: string,
  options: BalancePagesOptions,
): AsyncGenerator<BalancePage> {
  const id = parseEntityId(tokenId, { network: settings.network }).id;
  if (typeof timestamp !== 'string' || !timestampPattern.test(timestamp)) {
    throw new MirrorProtocolError(`timestamp ${describe(timestamp)} is not seconds.nanoseconds`);
  }
  const after = options.afterAccount === undefined ? null : parseCheckpoint(options.afterAccount);
  const expected = options.expectedTimestamp ?? null;
  if (expected !== null && (typeof expected !== 'string' || !timestampPattern.test(expected))) {
    throw new MirrorProtocolError(`expected timestamp ${describe(expected)} is not seconds.nanoseconds`);
  }
  const cursor: Cursor = {
    path: `/api/v1/tokens/${id}/balances`,
    fixedQuery: `account.balance=gt:0&order=asc&limit=${balancePageRows}&timestamp=${timestamp}`,
    requestedTimestamp: timestamp,
    expectedTimestamp: expected,
    answeredTimestamp: null,
    last: after,
  };
  let query: string | null = cursor.fixedQuery + (after === null ? '' : `&account.id=gt:${after.id}`);
  for (let pages = 0; query !== null; pages++) {
    if (pages >= settings.balancePagesMax) {
      throw new MirrorProtocolError(`token ${id} has more than ${settings.balancePagesMax} pages of balances`);
    }
    const body = await http.getJson(`${base.origin}${base.prefix}${cursor.path}?${query}`, { signal: options.signal });
    const page = readBalancePage(body, cursor);
    query = page.next === null ? null : followNext(page.next, base, cursor);
    yield { holders: page.holders, timestamp: cursor.answeredTimestamp, lastAccount: cursor.last?.id ?? null };
  }
}

// ---------------------------------------------------------------- balance pages

interface Cursor {
  path: string;
  /** The query every page shares; only account.id moves. */
  fixedQuery: string;
  requestedTimestamp: string;
  /** The snapshot a resumed run's earlier pages came from; null on a fresh run. */
  expectedTimestamp: string | null;
  answeredTimestamp: string | null;
  last: EntityId | null;
}

function readBalancePage(body: unknown, cursor: Cursor): { holders: Holder[]; next: string | null } {
  const rows = field(body, 'balances');
  if (!Array.isArray(rows) || rows.length > balancePageRows) {
    throw new MirrorProtocolError(`balances page must hold an array of at most ${balancePageRows} rows`);
  }
  pinTimestamp(field(body, 'timestamp'), rows.length, cursor);
  const holders: Holder[] = [];
  for (const row of rows) {
    const holder = readBalanceRow(row);
    const entity = parseEntityId(holder.account);
    if (cursor.last !== null && compareEntityIds(cursor.last, entity) >= 0) {
      throw new MirrorProtocolError(`balances out of order: ${entity.id} after ${cursor.last.id}`);
    }
    cursor.last = entity;
    // Zero balances are filtered by account.balance=gt:0; drop any that slip through (docs/snapshot-format.md).
    if (holder.balance !== '0') holders.push(holder);
  }
  const next = field(field(body, 'links'), 'next');
  if (next !== null && typeof next !== 'string') throw new MirrorProtocolError('links.next must be a string or null');
  if (next !== null && rows.length === 0) throw new MirrorProtocolError('an empty balances page has a next link');
  return { holders, next };
}

function readBalanceRow(row: unknown): Holder {
  const account = field(row, 'account');
  const balance = field(row, 'balance');
  if (typeof account !== 'string' || !isCanonicalEntityId(account)) {
    throw new MirrorProtocolError(`balance row has an invalid account ${describe(account)}`);
  }
  // Above 2^256 - 1 is no amount (docs/ledger-functions.md): a permanent failure now, not after the IPFS import.
  if (!isLosslessNumber(balance) || !isAmount(balance.value)) {
    throw new MirrorProtocolError(`balance of ${account} is not an integer in 0..2^256-1: ${describe(balance)}`);
  }
  return { account, balance: balance.value };
}

/** Every page must come from one balance snapshot, at or before the requested timestamp. */
function pinTimestamp(answered: unknown, rowCount: number, cursor: Cursor): void {
  if (answered === null && rowCount === 0) return;
  if (typeof answered !== 'string' || !timestampPattern.test(answered)) {
    throw new MirrorProtocolError(`balances page has an invalid timestamp ${describe(answered)}`);
  }
  if (cursor.answeredTimestamp === null) {
    if (timestampNs(answered) > timestampNs(cursor.requestedTimestamp)) {
      throw new MirrorProtocolError(`asked for balances at ${cursor.requestedTimestamp}, got a snapshot from ${answered}`);
    }
    if (cursor.expectedTimestamp !== null && answered !== cursor.expectedTimestamp) {
      throw new MirrorSnapshotChangedError(cursor.expectedTimestamp, answered);
    }
    cursor.answeredTimestamp = answered;
  } else if (answered !== cursor.answeredTimestamp) {
    throw new MirrorProtocolError(`balances pages moved from snapshot ${cursor.answeredTimestamp} to ${answered}`);
  }
}

/**
 * Validates links.next and returns the query to request next. The link must address this
 * token's balances on the configured origin (a mirror node behind a path-prefix proxy writes
 * links without the prefix; both forms map to the configured prefix) and repeat the query with
 * only account.id advanced to the last row — as the mirror node builds it.
 */
function followNext(link: string, base: Base, cursor: Cursor): string {
  let url: URL;
  try {
    url = new URL(link, base.href);
  } catch {
    throw new MirrorProtocolError(`refusing next link ${describe(link)}: not a URL`);
  }
  if (url.origin !== base.origin || url.username !== '' || url.password !== '') {
    throw new MirrorProtocolError(`refusing next link ${describe(link)}: it leaves ${base.origin}`);
  }
  if (url.pathname !== cursor.path && url.pathname !== `${base.prefix}${cursor.path}`) {
    throw new MirrorProtocolError(`refusing next link ${describe(link)}: it leaves ${base.prefix}${cursor.path}`);
  }
  const expected = `${cursor.fixedQuery}&account.id=gt:${cursor.last?.id}`;
  if (!sameQuery(url.searchParams, new URLSearchParams(expected))) {
    throw new MirrorProtocolError(`refusing next link ${describe(link)}: expected the query ${expected}`);
  }
  return url.search.slice(1);
}

function sameQuery(a: URLSearchParams, b: URLSearchParams): boolean {
  const pairs = (params: URLSearchParams) => [...params].map(([k, v]) => `${k}=${v}`).sort().join('&');
  return pairs(a) === pairs(b);
}

function parseCheckpoint(account: string): EntityId {
  if (!isCanonicalEntityId(account)) {
    throw new MirrorProtocolError(`checkpoint account ${describe(account)} is not a canonical Hedera id`);
  }
  return parseEntityId(account);
}

// ---------------------------------------------------------------- token info

function parseTokenInfo(body: unknown, tokenId: string): HederaTokenInfo {
  const answeredId = field(body, 'token_id');
  if (answeredId !== tokenId) {
    throw new MirrorProtocolError(`asked for token ${tokenId}, the mirror node answered ${describe(answeredId)}`);
  }
  return {
    tokenId,
    name: tokenText(body, 'name'),
    symbol: tokenText(body, 'symbol'),
    decimals: tokenDecimals(field(body, 'decimals')),
    totalSupply: tokenAmount(field(body, 'total_supply'), 'total_supply'),
    type: tokenType(field(body, 'type')),
    treasury: tokenTreasury(field(body, 'treasury_account_id')),
  };
}

function tokenTreasury(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string' || !isCanonicalEntityId(value)) throw new MirrorProtocolError(`token treasury_account_id ${describe(value)} is not a canonical Hedera id`);
  return value;
}

function tokenText(body: unknown, name: string): string {
  const value = field(body, name);
  if (typeof value !== 'string' || value.length > tokenTextCharsMax) {
    throw new MirrorProtocolError(`token ${name} must be a string of at most ${tokenTextCharsMax} characters`);
  }
  return value;
}

/** The mirror node writes decimals as a string ("8"); older versions as a number. */
function tokenDecimals(value: unknown): number {
  const text = isLosslessNumber(value) ? value.value : value;
  if (typeof text !== 'string' || !/^(0|[1-9][0-9]{0,9})$/.test(text) || Number(text) > 2 ** 31 - 1) {
    throw new MirrorProtocolError(`token decimals ${describe(value)} is not an int32 >= 0`);
  }
  return Number(text);
}

function tokenAmount(value: unknown, name: string): string {
  const text = isLosslessNumber(value) ? value.value : value;
  if (!isAmount(text)) {
    throw new MirrorProtocolError(`token ${name} ${describe(value)} is not an integer in 0..2^256-1`);
  }
  return text;
}

function tokenType(value: unknown): string {
  if (typeof value !== 'string' || !tokenTypes.has(value)) {
    throw new MirrorProtocolError(`token type ${describe(value)} is not one of ${[...tokenTypes].join(', ')}`);
  }
  return value;
}

// ---------------------------------------------------------------- HTTP: limit, retry, timeout

interface Http {
  getJson(url: string, options: { signal?: AbortSignal; notFound?: () => Error }): Promise<unknown>;
  close(): Promise<void>;
}

function createHttp(settings: Settings): Http {
  const limiter = settings.rps > 0 && Number.isFinite(settings.rps) ? spacingLimiter(settings.rps) : null;
  const limited = <T>(task: () => Promise<T>): Promise<T> => (limiter === null ? task() : limiter.schedule(task));
  const transport = settings.fetch ? fetchHttpGet(settings.fetch) : nodeHttpGet();
  return {
    getJson: (url, options) => getWithRetries(settings, transport, limited, url, options),
    close: async () => {
      limiter?.stop();
      transport.close();
    },
  };
}

/** Raised by a limited call waiting for (or made after) `close()`. */
export class MirrorClientClosedError extends Error {
  constructor() {
    super('the mirror client is closed');
    this.name = 'MirrorClientClosedError';
  }
}

/**
 * Starts calls at least 1/rps apart, client-wide. Each call takes the next free start time; one
 * that arrives after it starts at once, with no timer and no queue, so a limit above the rate a
 * snapshot's sequential paging reaches costs nothing. (Bottleneck, used before, held a client at
 * MIRROR_RPS=1000 to about 150 requests/s: BENCHMARKS.md, snapshots.)
 */
function spacingLimiter(rps: number) {
  const intervalMs = 1000 / rps;
  let nextStartMs = -Infinity;
  let stopped = false;
  const waiting = new Set<() => void>();
  return {
    async schedule<T>(task: () => Promise<T>): Promise<T> {
      if (stopped) throw new MirrorClientClosedError();
      const nowMs = performance.now();
      const startMs = Math.max(nowMs, nextStartMs);
      nextStartMs = startMs + intervalMs;
      if (startMs > nowMs) {
        await new Promise<void>((resolve, reject) => {
          const cancel = () => { clearTimeout(timer); reject(new MirrorClientClosedError()); };
          const timer = setTimeout(() => { waiting.delete(cancel); resolve(); }, startMs - nowMs);
          waiting.add(cancel);
        });
      }
      return task();
    },
    stop(): void {
      stopped = true;
      for (const cancel of waiting) cancel();
      waiting.clear();
    },
  };
}

async function getWithRetries(
  settings: Settings,
  transport: HttpGet,
  limited: <T>(task: () => Promise<T>) => Promise<T>,
  url: string,
  options: { signal?: AbortSignal; notFound?: () => Error },
): Promise<unknown> {
  let attempts = 0;
  try {
    return await pRetry(async (attempt) => {
      attempts = attempt;
      try {
        return await limited(() => attemptOnce(settings, transport, url, attempt, options));
      } catch (error) {
        // p-retry rethrows the wrapped error at once: retrying cannot help these.
        if (!isRetryable(error)) throw new AbortError(error as Error);
        throw error;
      }
    }, {
      retries: settings.maxAttempts - 1,
      factor: 2,
      minTimeout: settings.retryBaseDelayMs,
      maxTimeout: settings.retryMaxDelayMs,
      randomize: true,
      signal: options.signal,
      onFailedAttempt: (context) => waitRetryAfter(context, settings, options.signal),
    });
  } catch (error) {
    if (error instanceof MirrorUnavailableError) {
      throw new MirrorUnavailableError(
        `mirror node request ${redact(url)} failed after ${attempts} attempt(s): ${error.message}`,
        { upstreamStatus: error.upstreamStatus, retryAfterMs: error.retryAfterMs, attempts },
        { cause: error },
      );
    }
    throw error;
  }
}

function isRetryable(error: unknown): boolean {
  return error instanceof MirrorUnavailableError || (error instanceof MirrorProtocolError && error.retryable);
}

/** Backoff already waits context.retryDelay; wait the rest of what the server asked for. */
async function waitRetryAfter(context: RetryContext, settings: Settings, signal?: AbortSignal): Promise<void> {
  const { error } = context;
  if (context.retriesLeft <= 0 || !(error instanceof MirrorUnavailableError) || error.retryAfterMs === null) return;
  const extraMs = Math.min(error.retryAfterMs, settings.retryAfterMaxMs) - context.retryDelay;
  if (extraMs > 0) await sleep(extraMs, signal);
}

async function attemptOnce(
  settings: Settings,
  transport: HttpGet,
  url: string,
  attempt: number,
  options: { signal?: AbortSignal; notFound?: () => Error },
): Promise<unknown> {
  options.signal?.throwIfAborted();
  const deadline = attemptDeadline(settings.requestTimeoutMs, options.signal);
  const startedMs = performance.now();
  let status: number | null = null;
  let failure: unknown = null;
  try {
    const answer = await transport.get(url, { signal: deadline.signal });
    status = answer.status;
    const text = await readText(answer, settings.responseBytesMax);
    checkStatus(answer, text, options.notFound);
    return parseJson(text);
  } catch (error) {
    failure = classify(error, deadline.timedOut(), settings.requestTimeoutMs, options.signal);
    throw failure;
  } finally {
    deadline.release();
    settings.onRequest?.({
      url,
      attempt,
      status,
      durationMs: performance.now() - startedMs,
      error: failure === null ? null : (failure as Error).message,
    });
  }
}

async function readText(answer: HttpAnswer, bytesMax: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of answer.body) {
    total += chunk.byteLength;
    if (total > bytesMax) {
      answer.discard();
      throw new MirrorProtocolError(`mirror node response is larger than ${bytesMax} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function checkStatus(answer: HttpAnswer, text: string, notFound?: () => Error): void {
  const { status } = answer;
  if (status === 200) return;
  if (retryableStatuses.has(status)) {
    throw new MirrorUnavailableError(`mirror node answered ${status}`, {
      upstreamStatus: status,
      retryAfterMs: retryHintMs(answer.headers()),
    });
  }
  if (status === 404 && notFound) throw notFound();
  if (status >= 300 && status < 400) {
    throw new MirrorProtocolError(`mirror node redirected (${status}) to ${describe(answer.headers().get('location'))}; redirects are not followed`);
  }
  throw new MirrorRequestError(status, `mirror node answered ${status}: ${errorMessage(text)}`);
}

function parseJson(text: string): unknown {
  try {
    return parseLosslessJson(text);
  } catch (error) {
    // Possibly a proxy's error page or a truncated body: worth another attempt.
    throw new MirrorProtocolError(`mirror node response is not JSON: ${describe(text.slice(0, 80))}`, {
      retryable: true,
      cause: error,
    });
  }
}

/**
 * The signal of one attempt: aborted by the caller's signal or after `timeoutMs`, and released
 * as soon as the attempt ends (AbortSignal.timeout would hold its timer, and AbortSignal.any its
 * listener on the caller's signal, for the full timeout after every page).
 */
function attemptDeadline(timeoutMs: number, callerSignal?: AbortSignal): { signal: AbortSignal; timedOut(): boolean; release(): void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  const onCallerAbort = () => controller.abort(callerSignal?.reason);
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    release() {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    },
  };
}

/** Network errors and timeouts become MirrorUnavailableError; the caller's own abort stays as is. */
function classify(error: unknown, timedOut: boolean, requestTimeoutMs: number, callerSignal?: AbortSignal): unknown {
  if (error instanceof SnapshotError) return error;
  if (callerSignal?.aborted) return callerSignal.reason;
  if (timedOut) return new MirrorUnavailableError(`no complete answer within ${requestTimeoutMs} ms`, {}, { cause: error });
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (error as Error).message;
  return new MirrorUnavailableError(`network error: ${detail}`, {}, { cause: error });
}

/**
 * Milliseconds the server asks us to wait. X-Retry-In (Traefik, the public gateway: a Go
 * duration such as "1.5s" or "250ms") is more precise than Retry-After (whole seconds or an
 * HTTP date), so it wins when both are present.
 */
export function retryHintMs(headers: Headers, nowMs: number = Date.now()): number | null {
  const retryIn = parseGoDurationMs(headers.get('x-retry-in'));
  if (retryIn !== null) return retryIn;
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter === undefined || retryAfter === '') return null;
  if (/^\d{1,10}$/.test(retryAfter)) return Number(retryAfter) * 1000;
  const dateMs = Date.parse(retryAfter);
  return Number.isNaN(dateMs) ? null : Math.max(0, dateMs - nowMs);
}

const goDurationUnitsMs: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseGoDurationMs(text: string | null): number | null {
  if (text === null) return null;
  const trimmed = text.trim();
  if (!/^((\d+(\.\d+)?)(ns|us|µs|μs|ms|s|m|h))+$/.test(trimmed)) return null;
  let totalMs = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h)/g)) {
    totalMs += Number(match[1]) * (goDurationUnitsMs[match[2] as string] as number);
  }
  return totalMs;
}

// ---------------------------------------------------------------- small helpers

function resolveSettings(options: MirrorClientOptions): Settings {
  const settings: Settings = {
    ...defaults,
    ...withoutUndefined(options),
    network: options.network ?? null,
    fetch: options.fetch ?? null,
    onRequest: options.onRequest,
  } as Settings;
  const positive = ['requestTimeoutMs', 'retryAfterMaxMs', 'responseBytesMax', 'balancePagesMax'] as const;
  for (const name of positive) {
    if (!(settings[name] > 0)) throw new RangeError(`${name} must be > 0, got ${settings[name]}`);
  }
  if (!Number.isInteger(settings.maxAttempts) || settings.maxAttempts < 1) {
    throw new RangeError(`maxAttempts must be an integer >= 1, got ${settings.maxAttempts}`);
  }
  if (!(settings.rps >= 0)) throw new RangeError(`rps must be >= 0 (0 = no limit), got ${settings.rps}`);
  if (!(settings.retryBaseDelayMs >= 0) || !(settings.retryMaxDelayMs >= 0)) throw new RangeError('retry delays must be >= 0');
  return settings;
}

function parseBaseUrl(text: string): Base {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`mirror node URL ${describe(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`mirror node URL must be http(s): ${text}`);
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new RangeError('mirror node URL must not carry a query, fragment or credentials');
  }
  const prefix = url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  return { origin: url.origin, prefix, href: `${url.origin}${prefix}/` };
}

function field(value: unknown, name: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MirrorProtocolError(`expected a JSON object holding "${name}", got ${describe(value)}`);
  }
  if (!Object.hasOwn(value, name)) throw new MirrorProtocolError(`mirror node response lacks "${name}"`);
  return (value as Record<string, unknown>)[name];
}

function errorMessage(text: string): string {
  try {
    const messages = (JSON.parse(text) as { _status?: { messages?: Array<{ message?: unknown }> } })._status?.messages;
    const message = messages?.[0]?.message;
    if (typeof message === 'string') return message.slice(0, 200);
  } catch {
    // Not the mirror node's error shape; fall through.
  }
  return describe(text.slice(0, 80));
}

function timestampNs(text: string): bigint {
  const [seconds, nanos = ''] = text.split('.');
  return BigInt(seconds as string) * 1_000_000_000n + BigInt(nanos.padEnd(9, '0'));
}

function formatNow(): string {
  const nowMs = Date.now();
  return `${Math.floor(nowMs / 1000)}.${String((nowMs % 1000) * 1_000_000).padStart(9, '0')}`;
}

function redact(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

function describe(value: unknown): string {
  if (isLosslessNumber(value)) return value.value;
  if (typeof value === 'string') return JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value);
  if (value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : String(value);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// ---------------------------------------------------------------- NFT serials

/**
 * GET /api/v1/tokens/{id}/nfts?order=asc&limit=100[&account.id=X], following links.next, which
 * repeats the query with `serialnumber=gt:LAST` (the mirror node's own form), on this origin only.
 */
async function* nftPages(http: Http, base: Base, settings: Settings, tokenId: string, options: NftPagesOptions): AsyncGenerator<NftPage> {
  const id = parseEntityId(tokenId, { network: settings.network }).id;
  const account = options.accountId === undefined ? null : parseCheckpoint(options.accountId).id;
  const path = `/api/v1/tokens/${id}/nfts`;
  const fixedQuery = `order=asc&limit=${balancePageRows}${account === null ? '' : `&account.id=${account}`}`;
  let query: string | null = fixedQuery;
  let last = 0;
  for (let pages = 0; query !== null; pages++) {
    if (pages >= settings.balancePagesMax) throw new MirrorProtocolError(`token ${id} has more than ${settings.balancePagesMax} pages of serials`);
    const body = await http.getJson(`${base.origin}${base.prefix}${path}?${query}`, { signal: options.signal });
    const rows = field(body, 'nfts');
    if (!Array.isArray(rows) || rows.length > balancePageRows) throw new MirrorProtocolError(`nfts page must hold an array of at most ${balancePageRows} rows`);
    const nfts = rows.map((row) => readNftRow(row, id, account));
    for (const nft of nfts) {
      if (nft.serial <= last) throw new MirrorProtocolError(`serials out of order: ${nft.serial} after ${last}`);
      last = nft.serial;
    }
    const next = field(field(body, 'links'), 'next');
    if (next !== null && (typeof next !== 'string' || rows.length === 0)) throw new MirrorProtocolError('links.next of an nfts page must be null, or a string after a non-empty page');
    query = next === null ? null : followNftNext(next, base, path, `${fixedQuery}&serialnumber=gt:${last}`);
    yield { nfts };
  }
}

function readNftRow(row: unknown, tokenId: string, account: string | null): Nft {
  const serial = field(row, 'serial_number');
  if (!isLosslessNumber(serial) || !/^[1-9]\d{0,15}$/.test(serial.value) || !Number.isSafeInteger(Number(serial.value))) {
    throw new MirrorProtocolError(`serial_number ${describe(serial)} is not an integer in 1..2^53-1`);
  }
  const owner = field(row, 'account_id');
  const deleted = field(row, 'deleted');
  if (typeof deleted !== 'boolean') throw new MirrorProtocolError(`serial ${serial.value} has a non-boolean deleted`);
  if (owner !== null && (typeof owner !== 'string' || !isCanonicalEntityId(owner))) throw new MirrorProtocolError(`serial ${serial.value} has an invalid account_id ${describe(owner)}`);
  if (owner === null && !deleted) throw new MirrorProtocolError(`serial ${serial.value} has no account_id and is not deleted`);
  if (field(row, 'token_id') !== tokenId) throw new MirrorProtocolError(`asked for the serials of ${tokenId}, got one of ${describe(field(row, 'token_id'))}`);
  if (account !== null && owner !== account && !deleted) throw new MirrorProtocolError(`asked for the serials of ${account}, got one of ${describe(owner)}`);
  return { serial: Number(serial.value), account: owner, deleted };
}

function followNftNext(link: string, base: Base, path: string, expected: string): string {
  let url: URL;
  try {
    url = new URL(link, base.href);
  } catch {
    throw new MirrorProtocolError(`refusing next link ${describe(link)}: not a URL`);
  }
  if (url.origin !== base.origin || url.username !== '' || url.password !== '' || (url.pathname !== path && url.pathname !== `${base.prefix}${path}`)) {
    throw new MirrorProtocolError(`refusing next link ${describe(link)}: it leaves ${base.origin}${base.prefix}${path}`);
  }
  if (!sameQuery(url.searchParams, new URLSearchParams(expected))) throw new MirrorProtocolError(`refusing next link ${describe(link)}: expected the query ${expected}`);
  return url.search.slice(1);
}
