// A local Hedera mirror node speaking the real REST API v1 over generated holders, for tests
// and benchmarks. It follows the mirror node's own code and fixtures
// (test/fixtures/hedera-mirror): order defaults to desc, limit defaults to 25 and is silently
// capped at 100, links.next is the request path keeping every query parameter with
// account.id replaced by gt:LAST (lt:LAST in desc order) and is set only on a full page,
// unknown tokens answer 200 with an empty list on /balances and 404 on /tokens/{id},
// balances are JSON numbers even above 2^53, a timestamp filter answers from the latest
// balance snapshot at or before it; /tokens/{id}?timestamp= answers the token as it was then
// (its info history, see updateToken), and /accounts lists every account the node knows (holders,
// 0.0.2 and the treasury 0.0.98; order defaults to asc), and /tokens/{id}/nfts lists the serials of an
// NFT token as they are now (no timestamp; tokens_id_nfts fixtures; transferNft and burnNft move
// them), and /transactions/{transactionId} answers the transactions recordTransaction put there, as
// the mirror node's TransactionDetail (transactions/{id} fixtures: 404 `Not found` for an unknown id,
// `nonce` and `scheduled` filters). On top: a token-bucket rate limit answering 429 like the
// public gateway (Traefik: Retry-After seconds and X-Retry-In as a Go duration), and faults.

import http from 'node:http';
import { closeServer, listenOnLoopback } from './http-server.ts';
import { seededRandom } from './random.ts';

export interface FakeHolder {
  account: string;
  balance: bigint;
}

/** One serial of an NFT token as it is now (the mirror node's nft table). */
export interface FakeNft {
  serial: number;
  account: string;
  /** Burned. */
  deleted?: boolean;
}

export interface FakeToken {
  tokenId: string;
  name: string;
  symbol: string;
  decimals: number;
  totalSupply: bigint | string;
  type?: 'FUNGIBLE_COMMON' | 'NON_FUNGIBLE_UNIQUE';
  /** treasury_account_id; default 0.0.98. */
  treasury?: string;
  /** For NON_FUNGIBLE_UNIQUE tokens: the serials; `holders` should then give each owner's count (nftHolders). */
  nfts?: FakeNft[];
  holders: FakeHolder[];
  /** custom_fees: how many fixed and fractional fees the token charges (default none). */
  customFees?: { fixed?: number; fractional?: number };
  deleted?: boolean;
  /** pause_status; default NOT_APPLICABLE (no pause key). */
  pauseStatus?: 'PAUSED' | 'UNPAUSED' | 'NOT_APPLICABLE';
}

/** A transaction that reached consensus, as /api/v1/transactions/{id} reports it. */
export interface FakeTransaction {
  /** The mirror node's form, `0.0.P-seconds-nanoseconds`. */
  transactionId: string;
  /** SUCCESS, or a failure status such as INSUFFICIENT_TOKEN_BALANCE. */
  result: string;
  consensusTimestamp: string;
  name?: string;
  /** The token balance changes it made. */
  tokenTransfers?: Array<{ tokenId: string; account: string; amount: bigint }>;
}

export interface MirrorFaults {
  /** Every Nth request (counted over requests past the rate limit) answers `failStatus`. */
  failEveryNth?: number;
  failStatus?: 500 | 502 | 503 | 504;
  /** Every request answers this status (a mirror node that is down). */
  alwaysStatus?: number;
  /** Every Nth request answers 429 as the gateway would. */
  throttleEveryNth?: number;
  /** Wait this long before answering every `delayEveryNth`-th request (default: every request). */
  delayMs?: number;
  delayEveryNth?: number;
  /** Every Nth request sends the headers and half the body, then destroys the socket. */
  cutEveryNth?: number;
  /** Every Nth request answers 200 with a body that is not JSON. */
  garbageEveryNth?: number;
  /** Headers sent with injected failures and 429s, e.g. '1', an HTTP date, '250ms'. */
  retryAfter?: string;
  xRetryIn?: string;
  /** Rewrites links.next of balance pages (to simulate a hostile or broken server). */
  rewriteNext?: (next: string) => string | null;
  /** Called before answering the nth request (1-based) of /tokens/{id}/nfts: serials move mid-listing. */
  onNftsPage?: (n: number) => void;
  /** Rewrites every 200 JSON body (to simulate wrong shapes). */
  rewriteBody?: (body: string, path: string) => string;
}

export interface StartMirrorNodeOptions {
  tokens: FakeToken[];
  /** Consensus timestamp of the initial balance snapshot. */
  snapshotTimestamp?: string;
  /** Requests per second the gateway allows (token bucket, burst = 1 s worth); absent = no limit. */
  rateLimitRps?: number;
  faults?: MirrorFaults;
  /** Serve under this path (e.g. '/mirror') while links stay '/api/v1/...', as behind a proxy. */
  pathPrefix?: string;
  /** Listen on this loopback port; default a free one. */
  port?: number;
}

export interface RequestRecord {
  path: string;
  query: string;
  status: number;
  atMs: number;
}

export interface MirrorNodeStats {
  requests: number;
  tooManyRequests: number;
  faultsInjected: number;
  byPath: Record<string, number>;
  /** The `timestamp` parameter of every balances request, '' when absent. */
  balanceTimestamps: string[];
  requestLog: RequestRecord[];
}

export interface FakeMirrorNode {
  /** Base URL to give the client (includes pathPrefix). */
  url: string;
  stats: MirrorNodeStats;
  setFaults(faults: MirrorFaults): void;
  /** Records a newer balance snapshot; tokens not listed keep their holders. */
  publishSnapshot(timestamp: string, holdersByToken: Record<string, FakeHolder[]>): void;
  /**
   * Changes a token's info (name, supply, ...) from `timestamp` on, as a token update or a mint
   * would: /tokens/{id} without `timestamp` answers the newest info, with one the info then.
   */
  updateToken(tokenId: string, timestamp: string, changes: Partial<Omit<FakeToken, 'tokenId' | 'holders'>>): void;
  latestSnapshotTimestamp(): string;
  /** Moves an NFT serial to another account now (live: /nfts answers it at once). */
  transferNft(tokenId: string, serial: number, to: string): void;
  /** Burns an NFT serial now: /nfts lists it as deleted, without an account. */
  burnNft(tokenId: string, serial: number): void;
  /** Records a balance snapshot of every NFT token from its serials as they are now. */
  publishNftSnapshot(timestamp: string): void;
  /** Makes /transactions/{id} answer this transaction (a transaction that reached consensus). */
  recordTransaction(transaction: FakeTransaction): void;
  resetStats(): void;
  close(): Promise<void>;
}

/** Mirror node defaults (config.response.limit). */
const limitDefault = 25;
const limitMax = 100;
const requestLogMax = 200_000;
const defaultSnapshotTimestamp = '1716885861.254421003';
const acceptedBalanceParams = new Set(['account.id', 'account.balance', 'account.publickey', 'limit', 'order', 'timestamp']);
const acceptedTokenInfoParams = new Set(['timestamp']);
const acceptedNftParams = new Set(['account.id', 'limit', 'order', 'serialnumber']);
const acceptedTransactionParams = new Set(['nonce', 'scheduled']);
/** transactionIdPathParam in the dash form, e.g. 0.0.10-1234567890-000000000. */
const transactionIdPattern = /^(\d{1,10})\.(\d{1,10})\.(\d{1,19})-(\d{1,19})-(\d{1,9})$/;
const acceptedAccountParams = new Set(['account.balance', 'account.id', 'account.publickey', 'balance', 'limit', 'order']);
/** Accounts every network has, whatever the tokens: 0.0.2 (treasury of hbar) and 0.0.98 (fees). */
const systemAccounts = ['0.0.2', '0.0.98'];

interface Entity {
  shard: bigint;
  realm: bigint;
  num: bigint;
}

interface Row {
  entity: Entity;
  account: string;
  balance: bigint;
}

interface TokenState {
  info: FakeToken;
  /** Token info by consensus timestamp (ns), oldest first; the first one holds from 0. */
  infoHistory: Array<{ atNs: bigint; info: FakeToken }>;
  /** Holder sets by snapshot timestamp (ns), each sorted by account. */
  history: Array<{ atNs: bigint; rows: Row[] }>;
  /** The serials now, by serial number (NFT tokens). */
  nfts: Map<number, { account: string | null; deleted: boolean }>;
}

type Query = Map<string, string | string[]>;
type Condition = { op: string; value: string };

export async function startMirrorNode(options: StartMirrorNodeOptions): Promise<FakeMirrorNode> {
  const firstSnapshotNs = parseTimestampNs(options.snapshotTimestamp ?? defaultSnapshotTimestamp);
  const snapshotsNs: bigint[] = [firstSnapshotNs];
  const tokens = new Map<string, TokenState>();
  for (const token of options.tokens) {
    const id = entityToString(parseEntityText(token.tokenId) ?? fail(`bad tokenId ${token.tokenId}`));
    const nfts = new Map((token.nfts ?? []).map((n) => [n.serial, { account: n.account as string | null, deleted: n.deleted ?? false }] as const));
    tokens.set(id, { info: token, infoHistory: [{ atNs: 0n, info: token }], history: [{ atNs: firstSnapshotNs, rows: toRows(token.holders) }], nfts: new Map([...nfts].sort((a, b) => a[0] - b[0])) });
  }
  let faults: MirrorFaults = options.faults ?? {};
  const stats = emptyStats();
  const bucket = createBucket(options.rateLimitRps);
  const prefix = (options.pathPrefix ?? '').replace(/\/$/, '');
  const timers = new Set<NodeJS.Timeout>();
  let sequence = 0;
  let nftsRequests = 0;
  const transactions = new Map<string, FakeTransaction>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = prefix !== '' && url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname;
    stats.requests += 1;
    stats.byPath[routeName(path)] = (stats.byPath[routeName(path)] ?? 0) + 1;
    const record = (status: number) => {
      if (stats.requestLog.length < requestLogMax) {
        stats.requestLog.push({ path, query: url.search, status, atMs: performance.now() });
      }
    };
    if (!bucket.take()) {
      stats.tooManyRequests += 1;
      record(429);
      return sendThrottled(res, bucket.waitMs());
    }
    sequence += 1;
    const n = sequence;
    const respond = () => {
      const status = answer(n, path, url, res);
      record(status);
    };
    const delayMs = faults.delayMs ?? 0;
    if (delayMs > 0 && n % (faults.delayEveryNth ?? 1) === 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) respond();
      }, delayMs);
      timers.add(timer);
    } else {
      respond();
    }
  });

  function answer(n: number, path: string, url: URL, res: http.ServerResponse): number {
    const injected = injectFault(n, res);
    if (injected !== null) return injected;
    const { status, body } = route(path, url);
    const finalBody = status === 200 && faults.rewriteBody ? faults.rewriteBody(body, path) : body;
    if (faults.cutEveryNth && n % faults.cutEveryNth === 0) {
      stats.faultsInjected += 1;
      return sendCut(res, status, finalBody);
    }
    sendJson(res, status, finalBody);
    return status;
  }

  function injectFault(n: number, res: http.ServerResponse): number | null {
    const headers = retryHeaders(faults);
    if (faults.alwaysStatus) {
      stats.faultsInjected += 1;
      sendJson(res, faults.alwaysStatus, errorBody('Service Unavailable'), headers);
      return faults.alwaysStatus;
    }
    if (faults.throttleEveryNth && n % faults.throttleEveryNth === 0) {
      stats.faultsInjected += 1;
      stats.tooManyRequests += 1;
      res.writeHead(429, { 'content-type': 'text/plain', ...headers }).end('Too Many Requests');
      return 429;
    }
    if (faults.failEveryNth && n % faults.failEveryNth === 0) {
      stats.faultsInjected += 1;
      const status = faults.failStatus ?? 503;
      sendJson(res, status, errorBody(http.STATUS_CODES[status] ?? 'Error'), headers);
      return status;
    }
    if (faults.garbageEveryNth && n % faults.garbageEveryNth === 0) {
      stats.faultsInjected += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('<html><body>upstream hiccup</body></html>');
      return 200;
    }
    return null;
  }

  function route(path: string, url: URL): { status: number; body: string } {
    const nfts = /^\/api\/v1\/tokens\/([^/]+)\/nfts$/.exec(path);
    if (nfts) return tokenNfts(decodeURIComponent(nfts[1] as string), path, url);
    const balances = /^\/api\/v1\/tokens\/([^/]+)\/balances$/.exec(path);
    if (balances) return tokenBalances(decodeURIComponent(balances[1] as string), path, url);
    const token = /^\/api\/v1\/tokens\/([^/]+)$/.exec(path);
    if (token) return tokenInfo(decodeURIComponent(token[1] as string), url);
    if (path === '/api/v1/balances') return accountBalances(path, url);
    if (path === '/api/v1/accounts') return accountList(path, url);
    const transaction = /^\/api\/v1\/transactions\/([^/]+)$/.exec(path);
    if (transaction) return transactionById(decodeURIComponent(transaction[1] as string), url);
    return { status: 404, body: errorBody('Not found') };
  }

  /**
   * GET /api/v1/transactions/{transactionId} (getTransaction): the user transaction (nonce 0,
   * scheduled false) with that payer and valid start, as TransactionByIdResponse; unknown -> 404.
   */
  function transactionById(idText: string, url: URL): { status: number; body: string } {
    const query = parseQuery(url);
    for (const key of query.keys()) {
      if (!acceptedTransactionParams.has(key)) return { status: 400, body: errorBody(`Unknown query parameter: ${key}`) };
    }
    if (!values(query, 'nonce').every((raw) => /^\d{1,10}$/.test(raw))) return { status: 400, body: errorBody('Invalid parameter: nonce') };
    if (!values(query, 'scheduled').every((raw) => raw === 'true' || raw === 'false')) return { status: 400, body: errorBody('Invalid parameter: scheduled') };
    const match = transactionIdPattern.exec(idText);
    if (match === null) return { status: 400, body: errorBody('Invalid parameter: transactionId') };
    const [, shard, realm, num, seconds, nanos] = match as unknown as [string, string, string, string, string, string];
    const canonical = `${BigInt(shard)}.${BigInt(realm)}.${BigInt(num)}-${BigInt(seconds)}-${nanos.padStart(9, '0')}`;
    const found = transactions.get(canonical);
    const nonce = values(query, 'nonce').at(-1);
    const scheduled = values(query, 'scheduled').at(-1);
    if (found === undefined || (nonce !== undefined && nonce !== '0') || scheduled === 'true') return { status: 404, body: errorBody('Not found') };
    const [payer, validSeconds, validNanos] = canonical.split('-') as [string, string, string];
    const tokenTransfers = (found.tokenTransfers ?? []).map((t) => `{"account":"${t.account}","amount":${t.amount},"token_id":"${t.tokenId}","is_approval":false}`);
    const detail = JSON.stringify({
      batch_key: null, bytes: null, charged_tx_fee: 7, consensus_timestamp: found.consensusTimestamp, entity_id: null, max_custom_fees: [], max_fee: '2000000000',
      memo_base64: null, name: found.name ?? 'TOKENAIRDROP', nft_transfers: [], node: '0.0.3', nonce: 0, parent_consensus_timestamp: null, result: found.result,
      scheduled: false, staking_reward_transfers: [], transaction_hash: Buffer.alloc(48, 1).toString('base64'), transaction_id: canonical,
      valid_duration_seconds: '180', valid_start_timestamp: `${validSeconds}.${validNanos}`,
      transfers: [{ account: '0.0.3', amount: 2, is_approval: false }, { account: payer, amount: -2, is_approval: false }],
      token_transfers: '__TOKEN_TRANSFERS__',
    }).replace('"__TOKEN_TRANSFERS__"', `[${tokenTransfers.join(',')}]`);
    return { status: 200, body: `{"transactions":[${detail}]}` };
  }

  function tokenInfo(idText: string, url: URL): { status: number; body: string } {
    const entity = parseTokenPathId(idText);
    if (entity === null) return { status: 400, body: errorBody('Invalid parameter: tokenid') };
    const query = parseQuery(url);
    for (const key of query.keys()) {
      if (!acceptedTokenInfoParams.has(key)) return { status: 400, body: errorBody(`Unknown query parameter: ${key}`) };
    }
    // tokenInfoTimestampQueryParam: ^((eq|lt|lte):)?\d{1,10}(\.\d{1,9})?$, the token as it was then.
    const filters = values(query, 'timestamp');
    const validFilter = (raw: string) => { const c = condition(raw); return c !== null && isOp(c.op, ['eq', 'lt', 'lte']) && /^\d{1,10}(\.\d{1,9})?$/.test(c.value); };
    if (!filters.every(validFilter)) return { status: 400, body: errorBody('Invalid parameter: timestamp') };
    const state = tokens.get(entityToString(entity));
    if (state === undefined) return { status: 404, body: errorBody('Not found') };
    const upperNs = filters.reduce((upper, raw) => {
      const c = condition(raw) as Condition;
      const ns = parseTimestampNs(c.value) - (c.op === 'lt' ? 1n : 0n);
      return ns < upper ? ns : upper;
    }, 2n ** 63n - 1n);
    const entry = state.infoHistory.findLast((e) => e.atNs <= upperNs);
    if (entry === undefined) return { status: 404, body: errorBody('Not found') };
    return { status: 200, body: tokenInfoBody(entry.info, entityToString(entity), entry.atNs) };
  }

  /**
   * GET /api/v1/tokens/{id}/nfts (the OpenAPI getNfts; tokens_id_nfts fixtures): the serials as
   * they are now (no timestamp parameter), order desc by default, limit 25 capped at 100,
   * account.id and serialnumber filters, next as the query with serialnumber=gt:/lt:LAST.
   */
  function tokenNfts(idText: string, path: string, url: URL): { status: number; body: string } {
    faults.onNftsPage?.(++nftsRequests);
    const entity = parseTokenPathId(idText);
    if (entity === null) return { status: 400, body: errorBody('Invalid parameter: tokenid') };
    const query = parseQuery(url);
    for (const key of query.keys()) {
      if (!acceptedNftParams.has(key)) return { status: 400, body: errorBody(`Unknown query parameter: ${key}`) };
    }
    const accountFilters = values(query, 'account.id').map((raw) => ({ c: condition(raw), raw }));
    if (!accountFilters.every(({ c }) => c !== null && isOp(c.op, ['eq', 'gt', 'gte', 'lt', 'lte']) && parseEntityText(c.value) !== null)) return { status: 400, body: errorBody('Invalid parameter: account.id') };
    const serialFilters = values(query, 'serialnumber').map((raw) => condition(raw));
    if (!serialFilters.every((c) => c !== null && isOp(c.op, ['eq', 'gt', 'gte', 'lt', 'lte']) && /^[1-9]\d{0,18}$/.test(c.value))) return { status: 400, body: errorBody('Invalid parameter: serialnumber') };
    if (!values(query, 'limit').every((raw) => /^\d{1,19}$/.test(raw) && BigInt(raw) > 0n)) return { status: 400, body: errorBody('Invalid parameter: limit') };
    if (!values(query, 'order').every((raw) => /^(asc|desc)$/i.test(raw))) return { status: 400, body: errorBody('Invalid parameter: order') };
    const { limit, order } = pageParams(query);
    const state = tokens.get(entityToString(entity));
    if (state === undefined) return { status: 200, body: '{"nfts":[],"links":{"next":null}}' };
    const matches = (c: Condition, left: bigint, right: bigint) => ({ eq: left === right, gt: left > right, gte: left >= right, lt: left < right, lte: left <= right } as Record<string, boolean>)[c.op] ?? false;
    const rows = [...state.nfts].filter(([serial, nft]) => serialFilters.every((c) => matches(c as Condition, BigInt(serial), BigInt((c as Condition).value)))
      && accountFilters.every(({ c }) => nft.account !== null && matches(c as Condition, 0n, BigInt(compareEntities(parseEntityText((c as Condition).value) as Entity, parseEntityText(nft.account) as Entity)))));
    if (order === 'desc') rows.reverse();
    const page = rows.slice(0, limit);
    const last = page.length === 0 ? 0 : (page.at(-1) as [number, unknown])[0];
    // No link when the range left beyond the last serial is empty (limit.json's serialnumber=gt:2 case).
    const rangeLeft = serialFilters.every((c) => !(order === 'desc' ? ['gt', 'gte'] : ['lt', 'lte']).includes((c as Condition).op)
      || matches(c as Condition, BigInt(last + (order === 'desc' ? -1 : 1)), BigInt((c as Condition).value)));
    const next = page.length === limit && rangeLeft ? nextLink(path, query, String(last), order, 'serialnumber') : null;
    const tokenId = entityToString(entity);
    const body = page.map(([serial, nft]) => JSON.stringify({ account_id: nft.account, created_timestamp: '1234567890.000000005', delegating_spender: null, deleted: nft.deleted,
      metadata: Buffer.from(`m${serial}`).toString('base64'), modified_timestamp: '1234567890.000000005', serial_number: serial, spender: null, token_id: tokenId }));
    return { status: 200, body: `{"nfts":[${body.join(',')}],"links":{"next":${JSON.stringify(next)}}}` };
  }

  /** GET /api/v1/accounts: every known account, one AccountInfo each (balances are not modelled). */
  function accountList(path: string, url: URL): { status: number; body: string } {
    const query = parseQuery(url);
    for (const key of query.keys()) {
      if (!acceptedAccountParams.has(key)) return { status: 400, body: errorBody(`Unknown query parameter: ${key}`) };
    }
    const idsValid = values(query, 'account.id').every((raw) => {
      const c = condition(raw);
      return c !== null && isOp(c.op, ['eq', 'gt', 'gte', 'lt', 'lte', 'ne']) && parseEntityText(c.value) !== null;
    });
    if (!idsValid) return { status: 400, body: errorBody('Invalid parameter: account.id') };
    if (!values(query, 'limit').every((raw) => /^\d{1,19}$/.test(raw) && BigInt(raw) > 0n)) return { status: 400, body: errorBody('Invalid parameter: limit') };
    if (!values(query, 'order').every((raw) => /^(asc|desc)$/i.test(raw))) return { status: 400, body: errorBody('Invalid parameter: order') };
    const limitText = values(query, 'limit').at(-1);
    const limit = limitText === undefined ? limitDefault : Number(BigInt(limitText) > BigInt(limitMax) ? limitMax : limitText);
    // /accounts orders ascending by default (orderQueryParam), unlike the balances endpoints.
    const order = (values(query, 'order').at(-1) ?? 'asc').toLowerCase() === 'desc' ? 'desc' : 'asc';
    const page = selectRows(knownAccounts(), values(query, 'account.id'), [], order, limit);
    const next = page.length === limit ? nextLink(path, query, (page.at(-1) as Row).account, order) : null;
    const timestamp = formatTimestamp(snapshotsNs.at(-1) as bigint);
    return { status: 200, body: `{"accounts":[${page.map((row) => accountInfoBody(row.account, timestamp)).join(',')}],"links":{"next":${JSON.stringify(next)}}}` };
  }

  /** Every account any balance snapshot names, plus the system accounts, sorted by id. */
  function knownAccounts(): Row[] {
    const byId = new Map<string, Row>();
    for (const account of systemAccounts) {
      const entity = parseEntityText(account) as Entity;
      byId.set(account, { entity, account, balance: 0n });
    }
    for (const state of tokens.values()) for (const entry of state.history) for (const row of entry.rows) byId.set(row.account, row);
    return [...byId.values()].sort((a, b) => compareEntities(a.entity, b.entity));
  }

  function tokenBalances(idText: string, path: string, url: URL): { status: number; body: string } {
    const entity = parseTokenPathId(idText);
    if (entity === null) return { status: 400, body: errorBody('Invalid parameter: tokenid') };
    const query = parseQuery(url);
    stats.balanceTimestamps.push(url.searchParams.getAll('timestamp').join('&'));
    const invalid = validateBalanceQuery(query);
    if (invalid !== null) return { status: 400, body: errorBody(invalid) };
    const state = tokens.get(entityToString(entity));
    const snapshotNs = resolveSnapshot(snapshotsNs, values(query, 'timestamp'));
    if (state === undefined || snapshotNs === null) return { status: 200, body: emptyPage() };
    const rows = rowsAt(state, snapshotNs);
    const { limit, order } = pageParams(query);
    const page = selectRows(rows, values(query, 'account.id'), values(query, 'account.balance'), order, limit);
    if (page.length === 0) return { status: 200, body: emptyPage() };
    let next = page.length === limit ? nextLink(path, query, (page.at(-1) as Row).account, order) : null;
    if (next !== null && faults.rewriteNext) next = faults.rewriteNext(next);
    return { status: 200, body: balancesBody(formatTimestamp(snapshotNs), page, state.info.decimals, next) };
  }

  function accountBalances(path: string, url: URL): { status: number; body: string } {
    const query = parseQuery(url);
    const invalid = validateBalanceQuery(query);
    if (invalid !== null) return { status: 400, body: errorBody(invalid) };
    const snapshotNs = resolveSnapshot(snapshotsNs, values(query, 'timestamp'));
    if (snapshotNs === null) return { status: 200, body: emptyPage() };
    // One row: the treasury 0.0.2, always present in a balance snapshot.
    const { limit, order } = pageParams(query);
    const next = limit === 1 ? nextLink(path, query, '0.0.2', order) : null;
    const body = `{"timestamp":"${formatTimestamp(snapshotNs)}","balances":[{"account":"0.0.2","balance":5000000000000000000,"tokens":[]}],"links":{"next":${JSON.stringify(next)}}}`;
    return { status: 200, body };
  }

  const origin = await listenOnLoopback(server, options.port ?? 0);

  const fake: FakeMirrorNode = {
    url: `${origin}${prefix}`,
    stats,
    setFaults(next) {
      faults = next;
    },
    publishSnapshot(timestamp, holdersByToken) {
      const atNs = parseTimestampNs(timestamp);
      if (atNs <= (snapshotsNs.at(-1) as bigint)) fail('snapshots must be published in increasing timestamp order');
      snapshotsNs.push(atNs);
      for (const [tokenId, holders] of Object.entries(holdersByToken)) {
        const state = tokens.get(tokenId) ?? fail(`unknown token ${tokenId}`);
        state.history.push({ atNs, rows: toRows(holders) });
      }
    },
    updateToken(tokenId, timestamp, changes) {
      const state = tokens.get(tokenId) ?? fail(`unknown token ${tokenId}`);
      const atNs = parseTimestampNs(timestamp);
      if (atNs <= (state.infoHistory.at(-1) as { atNs: bigint }).atNs) fail('token updates must come in increasing timestamp order');
      state.info = { ...state.info, ...changes };
      state.infoHistory.push({ atNs, info: state.info });
    },
    latestSnapshotTimestamp: () => formatTimestamp(snapshotsNs.at(-1) as bigint),
    transferNft(tokenId, serial, to) {
      const nft = (tokens.get(tokenId) ?? fail(`unknown token ${tokenId}`)).nfts.get(serial);
      if (nft === undefined || nft.deleted) fail(`token ${tokenId} has no live serial ${serial}`);
      nft.account = to;
    },
    burnNft(tokenId, serial) {
      const nft = (tokens.get(tokenId) ?? fail(`unknown token ${tokenId}`)).nfts.get(serial);
      if (nft === undefined || nft.deleted) fail(`token ${tokenId} has no live serial ${serial}`);
      nft.account = null;
      nft.deleted = true;
    },
    publishNftSnapshot(timestamp) {
      const holdersByToken: Record<string, FakeHolder[]> = {};
      for (const [tokenId, state] of tokens) if (state.nfts.size > 0) holdersByToken[tokenId] = nftHolders([...state.nfts].map(([serial, n]) => ({ serial, account: n.account ?? '', deleted: n.deleted })));
      fake.publishSnapshot(timestamp, holdersByToken);
    },
    recordTransaction(transaction) {
      if (!transactionIdPattern.test(transaction.transactionId)) fail(`bad transaction id ${transaction.transactionId}`);
      transactions.set(transaction.transactionId, transaction);
    },
    resetStats() {
      Object.assign(stats, emptyStats());
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await closeServer(server);
    },
  };
  return fake;
}

/** Each owner's count of live serials: the balances the mirror node reports for an NFT token. */
export function nftHolders(nfts: FakeNft[]): FakeHolder[] {
  const counts = new Map<string, bigint>();
  for (const nft of nfts) if (!nft.deleted) counts.set(nft.account, (counts.get(nft.account) ?? 0n) + 1n);
  return [...counts].map(([account, balance]) => ({ account, balance }));
}

/**
 * Deterministic holders for tests and benchmarks: distinct accounts spread over a few
 * realms and shards, in shuffled order, balances from 1 up to ~2^80 with a share right above
 * 2^53 (where doubles stop being exact). `zeroBalances` extra accounts hold 0.
 */
export function generateHolders(options: { count: number; seed?: number; zeroBalances?: number }): FakeHolder[] {
  const random = seededRandom(options.seed ?? 1);
  const used = new Set<string>();
  const holders: FakeHolder[] = [];
  const total = options.count + (options.zeroBalances ?? 0);
  while (holders.length < total) {
    const bucket = random() % 10n;
    const account = bucket === 0n ? `1.0.${random() % 100_000n}` : bucket === 1n ? `0.1.${random() % 100_000n}` : `0.0.${random() % 10_000_000n}`;
    if (used.has(account)) continue;
    used.add(account);
    const balance = holders.length >= options.count ? 0n : randomBalance(random, holders.length);
    holders.push({ account, balance });
  }
  return holders;
}

function randomBalance(random: () => bigint, index: number): bigint {
  if (index % 4 === 0) return 2n ** 53n + (random() % 1000n); // just above the exact range of doubles
  if (index % 4 === 1) return 1n + (random() % 1_000_000n);
  return 1n + ((random() << 16n) | (random() % 65_536n)); // up to ~2^80
}

// ---------------------------------------------------------------- queries

function parseQuery(url: URL): Query {
  // Express/qs semantics: first appearance fixes the key's position; repeats become arrays.
  const query: Query = new Map();
  for (const [key, value] of url.searchParams) {
    const existing = query.get(key);
    if (existing === undefined) query.set(key, value);
    else query.set(key, ([] as string[]).concat(existing, value));
  }
  return query;
}

function values(query: Query, key: string): string[] {
  const value = query.get(key);
  return value === undefined ? [] : ([] as string[]).concat(value);
}

function validateBalanceQuery(query: Query): string | null {
  for (const key of query.keys()) {
    if (!acceptedBalanceParams.has(key)) return `Unknown query parameter: ${key}`;
  }
  const checks: Array<[string, (c: Condition) => boolean]> = [
    ['account.id', (c) => isOp(c.op, ['eq', 'gt', 'gte', 'lt', 'lte', 'ne']) && parseEntityText(c.value) !== null],
    ['account.balance', (c) => isOp(c.op, ['eq', 'gt', 'gte', 'lt', 'lte', 'ne']) && /^\d{1,19}$/.test(c.value)],
    ['timestamp', (c) => isOp(c.op, ['eq', 'gt', 'gte', 'lt', 'lte']) && /^\d{1,10}(\.\d{1,9})?$/.test(c.value)],
    ['limit', (c) => c.op === 'eq' && /^\d{1,19}$/.test(c.value) && BigInt(c.value) > 0n],
    ['order', (c) => c.op === 'eq' && /^(asc|desc)$/i.test(c.value)],
  ];
  for (const [key, valid] of checks) {
    if (!values(query, key).every((raw) => { const c = condition(raw); return c !== null && valid(c); })) {
      return `Invalid parameter: ${key}`;
    }
  }
  return null;
}

function pageParams(query: Query): { limit: number; order: 'asc' | 'desc' } {
  const limitText = values(query, 'limit').at(-1);
  const limit = limitText === undefined ? limitDefault : Number(BigInt(limitText) > BigInt(limitMax) ? limitMax : limitText);
  const order = (values(query, 'order').at(-1) ?? 'desc').toLowerCase() === 'asc' ? 'asc' : 'desc';
  return { limit, order };
}

function condition(raw: string): Condition | null {
  const parts = raw.split(':');
  if (parts.length === 1) return { op: 'eq', value: parts[0] as string };
  if (parts.length === 2) return { op: parts[0] as string, value: parts[1] as string };
  return null;
}

function isOp(op: string, allowed: string[]): boolean {
  return allowed.includes(op);
}

/** The mirror node's getNextParamQueries + updateReqQuery, over an insertion-ordered query. */
function nextLink(path: string, original: Query, lastAccount: string, order: 'asc' | 'desc', field = 'account.id'): string {
  const query: Query = new Map(original);
  const pattern = order === 'asc' ? /gt[e]?:/ : /lt[e]?:/;
  const insertValue = `${order === 'asc' ? 'gt' : 'lt'}:${lastAccount}`;
  const fieldValues = query.get(field);
  const patternMatch = fieldValues !== undefined && pattern.test(String(fieldValues));
  if (Array.isArray(fieldValues)) query.set(field, fieldValues.filter((value) => !pattern.test(value)));
  else if (patternMatch) query.delete(field);
  if (query.has(field)) {
    if (/^[gl]t[e]?:/.test(String(fieldValues))) query.set(field, values(query, field).concat(insertValue));
  } else {
    query.set(field, insertValue);
  }
  const pairs: string[] = [];
  for (const [key, value] of query) for (const v of ([] as string[]).concat(value)) pairs.push(`${key}=${v}`);
  return `${path}?${pairs.join('&')}`;
}

// ---------------------------------------------------------------- data

function selectRows(rows: Row[], idFilters: string[], balanceFilters: string[], order: 'asc' | 'desc', limit: number): Row[] {
  const idConditions = idFilters.map((raw) => {
    const c = condition(raw) as Condition;
    return { op: c.op, entity: parseEntityText(c.value) as Entity };
  });
  const balanceConditions = balanceFilters.map((raw) => {
    const c = condition(raw) as Condition;
    return { op: c.op, value: BigInt(c.value) };
  });
  const [from, to] = idRange(rows, idConditions);
  const picked: Row[] = [];
  const step = order === 'asc' ? 1 : -1;
  for (let i = order === 'asc' ? from : to - 1; i >= from && i < to && picked.length < limit; i += step) {
    const row = rows[i] as Row;
    const idOk = idConditions.every((c) => c.op !== 'ne' || compareEntities(row.entity, c.entity) !== 0);
    if (idOk && balanceConditions.every((c) => compareWith(c.op, compareBig(row.balance, c.value)))) picked.push(row);
  }
  return picked;
}

/** Index range [from, to) of rows matching the account.id range conditions (binary search). */
function idRange(rows: Row[], conditions: Array<{ op: string; entity: Entity }>): [number, number] {
  let from = 0;
  let to = rows.length;
  for (const { op, entity } of conditions) {
    if (op === 'gt') from = Math.max(from, upperBound(rows, entity));
    if (op === 'gte' || op === 'eq') from = Math.max(from, lowerBound(rows, entity));
    if (op === 'lt') to = Math.min(to, lowerBound(rows, entity));
    if (op === 'lte' || op === 'eq') to = Math.min(to, upperBound(rows, entity));
  }
  return [from, Math.max(from, to)];
}

function lowerBound(rows: Row[], entity: Entity): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareEntities((rows[mid] as Row).entity, entity) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(rows: Row[], entity: Entity): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareEntities((rows[mid] as Row).entity, entity) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function rowsAt(state: TokenState, snapshotNs: bigint): Row[] {
  let rows: Row[] = [];
  for (const entry of state.history) if (entry.atNs <= snapshotNs) rows = entry.rows;
  return rows;
}

/** The latest snapshot within the timestamp conditions (eq means at or before, as on the mirror node). */
function resolveSnapshot(snapshotsNs: bigint[], filters: string[]): bigint | null {
  let lower = 0n;
  let upper = 2n ** 63n - 1n;
  for (const raw of filters) {
    const c = condition(raw) as Condition;
    const value = parseTimestampNs(c.value);
    if (c.op === 'eq' || c.op === 'lte') upper = value < upper ? value : upper;
    if (c.op === 'lt') upper = value - 1n < upper ? value - 1n : upper;
    if (c.op === 'gte') lower = value > lower ? value : lower;
    if (c.op === 'gt') lower = value + 1n > lower ? value + 1n : lower;
  }
  let found: bigint | null = null;
  for (const at of snapshotsNs) if (at >= lower && at <= upper) found = at;
  return found;
}

function toRows(holders: FakeHolder[]): Row[] {
  const rows = holders.map((h) => {
    const entity = parseEntityText(h.account) ?? fail(`bad account ${h.account}`);
    return { entity, account: entityToString(entity), balance: h.balance };
  });
  return rows.sort((a, b) => compareEntities(a.entity, b.entity));
}

// ---------------------------------------------------------------- ids and timestamps

/** `N`, `R.N` or `S.R.N` (mirror node accepts the short forms). */
function parseEntityText(text: string): Entity | null {
  if (!/^(\d{1,10}\.){0,2}\d{1,19}$/.test(text)) return null;
  const parts = text.split('.').map((p) => BigInt(p));
  while (parts.length < 3) parts.unshift(0n);
  const [shard, realm, num] = parts as [bigint, bigint, bigint];
  return { shard, realm, num };
}

/** Token path ids: entity forms, or a 40-hex "long zero" EVM address with optional 0x / shard.realm. prefix. */
function parseTokenPathId(text: string): Entity | null {
  const entity = parseEntityText(text);
  if (entity !== null) return entity;
  // `0x` is allowed only without the shard.realm. prefix (0.0.0x... is invalid, see invalid-token-id.json).
  const match = /^(?:\d{1,10}\.\d{1,10}\.([0-9A-Fa-f]{40})|(?:0x)?([0-9A-Fa-f]{40}))$/.exec(text);
  if (match === null) return null;
  const hex = (match[1] ?? match[2]) as string;
  const shard = BigInt(`0x${hex.slice(0, 8)}`);
  const realm = BigInt(`0x${hex.slice(8, 24)}`);
  const num = BigInt(`0x${hex.slice(24)}`);
  return shard < 1024n && realm < 65536n && num < 2n ** 38n ? { shard, realm, num } : null;
}

function entityToString(entity: Entity): string {
  return `${entity.shard}.${entity.realm}.${entity.num}`;
}

function compareEntities(a: Entity, b: Entity): number {
  return compareBig(a.shard, b.shard) || compareBig(a.realm, b.realm) || compareBig(a.num, b.num);
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareWith(op: string, comparison: number): boolean {
  switch (op) {
    case 'gt': return comparison > 0;
    case 'gte': return comparison >= 0;
    case 'lt': return comparison < 0;
    case 'lte': return comparison <= 0;
    case 'ne': return comparison !== 0;
    default: return comparison === 0;
  }
}

function parseTimestampNs(text: string): bigint {
  const [seconds, nanos = ''] = text.split('.');
  return BigInt(seconds as string) * 1_000_000_000n + BigInt(nanos.padEnd(9, '0') || '0');
}

function formatTimestamp(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

// ---------------------------------------------------------------- bodies

/** Written by hand: balances must be raw JSON numbers, exact beyond 2^53. */
function balancesBody(timestamp: string, rows: Row[], decimals: number, next: string | null): string {
  const items = rows.map((r) => `{"account":"${r.account}","balance":${r.balance},"decimals":${decimals}}`);
  return `{"timestamp":"${timestamp}","balances":[${items.join(',')}],"links":{"next":${JSON.stringify(next)}}}`;
}

function emptyPage(): string {
  return '{"timestamp":null,"balances":[],"links":{"next":null}}';
}

function tokenInfoBody(token: FakeToken, tokenId: string, modifiedNs: bigint): string {
  // Field names and string-typed numbers as in tokens_id/no-params.json.
  const modified = modifiedNs === 0n ? '1234567890.000000003' : formatTimestamp(modifiedNs);
  return JSON.stringify({
    token_id: tokenId,
    symbol: token.symbol,
    admin_key: null,
    created_timestamp: '1234567890.000000002',
    decimals: String(token.decimals),
    deleted: token.deleted ?? false,
    freeze_default: false,
    initial_supply: String(token.totalSupply),
    max_supply: '9223372036854775807',
    memo: '',
    modified_timestamp: modified,
    name: token.name,
    pause_status: token.pauseStatus ?? 'NOT_APPLICABLE',
    supply_type: 'INFINITE',
    total_supply: String(token.totalSupply),
    treasury_account_id: token.treasury ?? '0.0.98',
    type: token.type ?? 'FUNGIBLE_COMMON',
    // Shapes of the OpenAPI FixedFee and FractionalFee.
    custom_fees: {
      created_timestamp: '1234567890.000000002',
      fixed_fees: Array.from({ length: token.customFees?.fixed ?? 0 }, () => ({ all_collectors_are_exempt: false, amount: 10, collector_account_id: '0.0.98', denominating_token_id: null })),
      fractional_fees: Array.from({ length: token.customFees?.fractional ?? 0 }, () => ({ all_collectors_are_exempt: false, amount: { numerator: 1, denominator: 100 }, collector_account_id: '0.0.98', denominating_token_id: tokenId, maximum: null, minimum: 0, net_of_transfers: true })),
    },
  });
}

/** An AccountInfo (OpenAPI schema) with every required field; balances are not modelled. */
function accountInfoBody(account: string, timestamp: string): string {
  return JSON.stringify({
    account, alias: null, auto_renew_period: 7776000, balance: { balance: 0, timestamp, tokens: [] },
    created_timestamp: '1234567890.000000001', decline_reward: false, deleted: false, ethereum_nonce: 0,
    evm_address: null, expiry_timestamp: null, key: null, max_automatic_token_associations: 0, memo: '',
    pending_reward: 0, receiver_sig_required: false, staked_account_id: null, staked_node_id: null, stake_period_start: null,
  });
}

function errorBody(message: string): string {
  return JSON.stringify({ _status: { messages: [{ message }] } });
}

// ---------------------------------------------------------------- transport

function sendJson(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function sendCut(res: http.ServerResponse, status: number, body: string): number {
  const bytes = Buffer.from(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': bytes.length });
  res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.socket?.destroy());
  return status;
}

function sendThrottled(res: http.ServerResponse, waitMs: number): void {
  res.writeHead(429, {
    'content-type': 'text/plain',
    'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))),
    'x-retry-in': `${waitMs.toFixed(3)}ms`,
  });
  res.end('Too Many Requests');
}

function retryHeaders(faults: MirrorFaults): Record<string, string> {
  const headers: Record<string, string> = {};
  if (faults.retryAfter !== undefined) headers['retry-after'] = faults.retryAfter;
  if (faults.xRetryIn !== undefined) headers['x-retry-in'] = faults.xRetryIn;
  return headers;
}

/** Token bucket: `rps` tokens per second, burst of one second's worth. */
function createBucket(rps: number | undefined): { take(): boolean; waitMs(): number } {
  if (rps === undefined || rps <= 0 || !Number.isFinite(rps)) return { take: () => true, waitMs: () => 0 };
  let tokens = rps;
  let refilledAt = performance.now();
  const refill = () => {
    const now = performance.now();
    tokens = Math.min(rps, tokens + ((now - refilledAt) / 1000) * rps);
    refilledAt = now;
  };
  return {
    take() {
      refill();
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    waitMs: () => ((1 - tokens) / rps) * 1000,
  };
}

function routeName(path: string): string {
  if (/^\/api\/v1\/tokens\/[^/]+\/balances$/.test(path)) return '/api/v1/tokens/{id}/balances';
  if (/^\/api\/v1\/tokens\/[^/]+\/nfts$/.test(path)) return '/api/v1/tokens/{id}/nfts';
  if (/^\/api\/v1\/tokens\/[^/]+$/.test(path)) return '/api/v1/tokens/{id}';
  if (/^\/api\/v1\/transactions\/[^/]+$/.test(path)) return '/api/v1/transactions/{id}';
  return path;
}

function emptyStats(): MirrorNodeStats {
  return { requests: 0, tooManyRequests: 0, faultsInjected: 0, byPath: {}, balanceTimestamps: [], requestLog: [] };
}

function fail(message: string): never {
  throw new Error(message);
}
