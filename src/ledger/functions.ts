// One TypeScript function per Lua function of the `ledger` library: build the key, call, parse
// the reply, map the error. Read-only functions go through FCALL_RO so they can run on replicas.
import type { RedisConnection } from '../connections.ts';
import { toLedgerError } from './errors.ts';
import { declaredKeys } from './keys.ts';
import { withRetries } from './retry.ts';

export interface TokenParams {
  name: string;
  decimals: number;
  totalSupply: string;
  treasury: string;
  /** How long opId records last; the library's default is 86400. */
  opTtlSeconds?: number;
}

export interface TokenInfo {
  name: string;
  symbol: string;
  decimals: number;
  totalSupply: string;
  circulatingSupply: string;
  treasury: string;
  createdAt: number;
  opTtlSeconds: number;
  holders: number;
}

export interface TransferReceipt { eventId: string; fromBalance: string; toBalance: string }
export interface BurnReceipt { eventId: string; balance: string; circulatingSupply: string }
export interface BatchReceipt { eventId: string; legs: number }
export interface TransferLeg { from: string; to: string; amount: string }
export interface Holder { account: string; balance: string }

export interface LedgerEvent {
  id: string;
  type: 'init' | 'transfer' | 'burn' | 'batch';
  ts: number;
  from?: string;
  to?: string;
  account?: string;
  amount?: string;
  opId?: string;
  name?: string;
  decimals?: number;
  /** A batch's legs; in a view filtered by account, only the legs touching it. */
  legs?: TransferLeg[];
  /** A batch's leg count (all legs, also in a filtered view). */
  n?: number;
  /** In a view filtered by account: the 1-based places of `legs` in the batch. */
  legIndexes?: number[];
}

export interface EventsPage {
  events: LedgerEvent[];
  /** The afterId to pass to read on from where this page stopped. */
  next: string;
  /** True when the page reached the end of the log (fewer than `count` entries, no scan bound hit). */
  end: boolean;
}

type Reply = unknown;

/**
 * Calls a function with its keys in the declared form. Read-only calls and writes with an opId
 * (`retrySafe`) are repeated after a connection failure (see retry.ts); other writes never are.
 */
async function call(redis: RedisConnection, fn: string, symbol: string, args: string[], mode: 'read' | 'write', opts: { retrySafe?: boolean; opId?: string } = {}): Promise<Reply> {
  const options = { keys: declaredKeys(symbol, opts.opId), arguments: args };
  const retrySafe = opts.retrySafe ?? (mode === 'read' || opts.opId !== undefined);
  try {
    return await withRetries(() => mode === 'read' ? redis.fCallRo(fn, options) : redis.fCall(fn, options), retrySafe);
  } catch (error) {
    throw toLedgerError(error);
  }
}

const strings = (reply: Reply): string[] => (reply as unknown[]).map(String);

function pairs(flat: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(flat[i]!, flat[i + 1]!);
  return map;
}

/** 'created' the first time; 'exists' on a repeat with identical parameters. */
export async function init(redis: RedisConnection, symbol: string, token: TokenParams): Promise<'created' | 'exists'> {
  const args = [token.name, String(token.decimals), token.totalSupply, token.treasury];
  if (token.opTtlSeconds !== undefined) args.push(String(token.opTtlSeconds));
  const reply = await call(redis, 'ledger_init', symbol, args, 'write', { retrySafe: true });
  return Number(reply) === 1 ? 'created' : 'exists';
}

export async function info(redis: RedisConnection, symbol: string): Promise<TokenInfo> {
  const fields = pairs(strings(await call(redis, 'ledger_info', symbol, [], 'read')));
  return {
    name: fields.get('name')!,
    symbol: fields.get('symbol')!,
    decimals: Number(fields.get('decimals')),
    totalSupply: fields.get('totalSupply')!,
    circulatingSupply: fields.get('circulatingSupply')!,
    treasury: fields.get('treasury')!,
    createdAt: Number(fields.get('createdAt')),
    opTtlSeconds: Number(fields.get('opTtlSeconds')),
    holders: Number(fields.get('holders')),
  };
}

export async function balance(redis: RedisConnection, symbol: string, account: string): Promise<string> {
  return String(await call(redis, 'ledger_balance', symbol, [account], 'read'));
}

export async function supply(redis: RedisConnection, symbol: string): Promise<{ totalSupply: string; circulatingSupply: string }> {
  const [totalSupply, circulatingSupply] = strings(await call(redis, 'ledger_supply', symbol, [], 'read'));
  return { totalSupply: totalSupply!, circulatingSupply: circulatingSupply! };
}

export async function transfer(redis: RedisConnection, symbol: string, leg: TransferLeg & { opId?: string }): Promise<TransferReceipt> {
  const args = [leg.from, leg.to, leg.amount];
  if (leg.opId !== undefined) args.push(leg.opId);
  const [eventId, fromBalance, toBalance] = strings(await call(redis, 'ledger_transfer', symbol, args, 'write', { opId: leg.opId }));
  return { eventId: eventId!, fromBalance: fromBalance!, toBalance: toBalance! };
}

export async function burn(redis: RedisConnection, symbol: string, burn: { account: string; amount: string; opId?: string }): Promise<BurnReceipt> {
  const args = [burn.account, burn.amount];
  if (burn.opId !== undefined) args.push(burn.opId);
  const [eventId, balanceAfter, circulatingSupply] = strings(await call(redis, 'ledger_burn', symbol, args, 'write', { opId: burn.opId }));
  return { eventId: eventId!, balance: balanceAfter!, circulatingSupply: circulatingSupply! };
}

export async function transferBatch(redis: RedisConnection, symbol: string, batch: { legs: TransferLeg[]; opId?: string }): Promise<BatchReceipt> {
  const args = [batch.opId ?? '-', String(batch.legs.length)];
  for (const leg of batch.legs) args.push(leg.from, leg.to, leg.amount);
  const [eventId, legs] = strings(await call(redis, 'ledger_transfer_batch', symbol, args, 'write', { opId: batch.opId }));
  return { eventId: eventId!, legs: Number(legs) };
}

export async function top(redis: RedisConnection, symbol: string, limit: number): Promise<Holder[]> {
  const flat = strings(await call(redis, 'ledger_top', symbol, [String(limit)], 'read'));
  const holders: Holder[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) holders.push({ account: flat[i]!, balance: flat[i + 1]! });
  return holders;
}

function parseEvent(id: string, fields: Map<string, string>): LedgerEvent {
  const event: LedgerEvent = { id, type: fields.get('type') as LedgerEvent['type'], ts: Number(fields.get('ts')) };
  for (const name of ['from', 'to', 'account', 'amount', 'opId', 'name'] as const) {
    const value = fields.get(name);
    if (value !== undefined) event[name] = value;
  }
  if (fields.has('decimals')) event.decimals = Number(fields.get('decimals'));
  if (fields.has('n')) event.n = Number(fields.get('n'));
  const legIndexes = fields.get('legIndexes');
  if (legIndexes !== undefined) event.legIndexes = JSON.parse(legIndexes) as number[];
  const legs = fields.get('legs');
  if (legs !== undefined) {
    event.legs = (JSON.parse(legs) as [string, string, string][]).map(([from, to, amount]) => ({ from, to, amount }));
  }
  return event;
}

/** Log entries after `after` ('-' for the start), at most `count`, optionally touching `account`. */
export async function events(redis: RedisConnection, symbol: string, query: { after?: string; count: number; account?: string }): Promise<EventsPage> {
  const after = query.after ?? '-';
  const args = [after, String(query.count)];
  if (query.account !== undefined) args.push(query.account);
  const reply = await call(redis, 'ledger_events', symbol, args, 'read') as [string, unknown][];
  const page: EventsPage = { events: [], next: after, end: true };
  for (const [id, rawFields] of reply) {
    const fields = rawFields instanceof Map ? new Map([...rawFields].map(([k, v]) => [String(k), String(v)])) : pairs(strings(rawFields));
    page.next = String(id);
    if (fields.get('type') === 'cursor') { page.end = false; break; }
    page.events.push(parseEvent(String(id), fields));
  }
  if (page.events.length >= query.count) page.end = false;
  return page;
}

/** Records that the archives hold the log up to `lastId` (an entry of the log); returns the mark now recorded. */
export async function logArchived(redis: RedisConnection, symbol: string, lastId: string): Promise<string> {
  return String(await call(redis, 'ledger_log_archived', symbol, [lastId], 'write', { retrySafe: true }));
}

export interface LogTrimReceipt { removed: number; trimmedTo: string; firstId: string | null }

/** Removes the log's entries up to `upToId` (at most the archived mark); safe to repeat. */
export async function logTrim(redis: RedisConnection, symbol: string, upToId: string): Promise<LogTrimReceipt> {
  const [removed, trimmedTo, firstId] = await call(redis, 'ledger_log_trim', symbol, [upToId], 'write', { retrySafe: true }) as [unknown, unknown, unknown];
  return { removed: Number(removed), trimmedTo: String(trimmedTo), firstId: firstId == null ? null : String(firstId) };
}

/**
 * One step of moving a token's ranking to layout 2 (migration 0003): members moved, and whether
 * the token is done.
 */
export async function upgradeStep(redis: RedisConnection, symbol: string): Promise<{ moved: number; done: boolean }> {
  const [moved, done] = strings(await call(redis, 'ledger_upgrade', symbol, [], 'write', { retrySafe: true }));
  return { moved: Number(moved), done: done === '1' };
}

export async function version(redis: RedisConnection): Promise<string> {
  return String(await call(redis, 'ledger_version', 'TALLY', [], 'read'));
}
