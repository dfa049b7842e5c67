// The invariant checker of one token (`tally audit SYM`), read-only, standalone or cluster (every
// key shares the token's hash tag). It pages through the log (XRANGE; the archives first for
// what a trimmed log no longer holds: log-segments.ts readLog) and the balances (HSCAN), so no
// call reads more than pageSize entries, and checks:
//   - the log replayed from init gives exactly the stored balances, and its burns the supplies;
//   - the balances are canonical, non-zero and sum to circulatingSupply;
//   - every holder is ranked exactly once, in the set and with the encoding its size calls for
//     (redis-functions/ledger/_lib.lua, Holder ranking), and ledger_top equals a sort of the
//     balances;
//   - every opId record the log names and that has not expired parses as {p, r}.
// Memory: the replayed balances (one entry per holder) and the top 1000; never the whole log.
import type { RedisConnection } from '../connections.ts';
import { amountPattern } from '../identifiers.ts';
import * as fn from './functions.ts';
import { tokenKeys } from './keys.ts';
import { readLog, type LogArchive } from './log-segments.ts';

const pageSizeDefault = 1_000;
const violationsMax = 100;
const topMax = 1_000;
const smallBalanceLimit = 2n ** 53n;

export interface AuditReport {
  symbol: string;
  ok: boolean;
  /** At most violationsMax, each one sentence; `violationCount` counts them all. */
  violations: string[];
  violationCount: number;
  holders: number;
  logEntries: number;
}

export interface AuditOptions {
  pageSize?: number;
  /** The archived segments, for a trimmed log (without them such a log fails with LOG_TRIMMED). */
  archive?: LogArchive | null;
  onProgress?: (progress: { logEntries: number; logTotal: number; holders: number }) => void;
}

type Replay = { balances: Map<string, bigint>; supply: bigint; burned: bigint; entries: number; opIds: string[] };

/** `rank` member of a balance of 2^53 and more: digit count and digits complemented, ':', account. */
export function rankMember(account: string, balance: string): string {
  return `${String(99 - balance.length).padStart(2, '0')}${balance.replace(/\d/g, (d) => String(9 - Number(d)))}:${account}`;
}

function createReport(symbol: string) {
  const violations: string[] = [];
  let count = 0;
  return {
    fail(sentence: string) { count += 1; if (violations.length < violationsMax) violations.push(sentence); },
    done(holders: number, logEntries: number): AuditReport {
      return { symbol, ok: count === 0, violations, violationCount: count, holders, logEntries };
    },
  };
}

type Report = ReturnType<typeof createReport>;

function applyEntry(replay: Replay, fields: Record<string, string>, report: Report, id: string): void {
  const move = (account: string | undefined, delta: bigint) => {
    if (!account) { report.fail(`log entry ${id} names no account`); return; }
    const next = (replay.balances.get(account) ?? 0n) + delta;
    if (next < 0n) report.fail(`log entry ${id} takes ${account} below zero`);
    if (next === 0n) replay.balances.delete(account); else replay.balances.set(account, next);
  };
  const amount = (text: string | undefined) => (text !== undefined && amountPattern.test(text) ? BigInt(text) : (report.fail(`log entry ${id} has a malformed amount`), 0n));
  if (fields.opId) replay.opIds.push(fields.opId);
  switch (fields.type) {
    case 'init': replay.supply = amount(fields.amount); move(fields.account ?? fields.to, replay.supply); break;
    case 'transfer': { const a = amount(fields.amount); move(fields.from, -a); move(fields.to, a); break; }
    case 'burn': { const a = amount(fields.amount); move(fields.account, -a); replay.burned += a; break; }
    case 'batch':
      for (const [from, to, legAmount] of JSON.parse(fields.legs ?? '[]') as [string, string, string][]) {
        const a = amount(legAmount);
        move(from, -a);
        move(to, a);
      }
      break;
    default: report.fail(`log entry ${id} has an unknown type ${JSON.stringify(fields.type)}`);
  }
}

async function checkOpRecords(redis: RedisConnection, prefix: string, opIds: string[], report: Report): Promise<void> {
  const records = await Promise.all(opIds.map((opId) => redis.get(`${prefix}${opId}`)));
  records.forEach((record, i) => {
    if (record === null) return; // expired: records live for the token's opTtlSeconds
    try {
      const parsed = JSON.parse(String(record)) as { p?: unknown; r?: unknown };
      if (typeof parsed.p !== 'string' || parsed.r === undefined) report.fail(`the record of opId ${opIds[i]} lacks its parameters or reply`);
    } catch {
      report.fail(`the record of opId ${opIds[i]} is not JSON`);
    }
  });
}

async function replayLog(redis: RedisConnection, symbol: string, pageSize: number, report: Report, options: AuditOptions): Promise<Replay> {
  const keys = tokenKeys(symbol);
  const replay: Replay = { balances: new Map(), supply: 0n, burned: 0n, entries: 0, opIds: [] };
  const total = await redis.xLen(keys.log);
  // Up to the last entry when the audit starts: a log written meanwhile still ends.
  const [last] = (await redis.xRevRange(keys.log, '+', '-', { COUNT: 1 })) ?? [];
  if (!last) return replay;
  for await (const page of readLog(redis, symbol, null, last.id, { archive: options.archive ?? null, pageEntries: pageSize })) {
    for (const entry of page) applyEntry(replay, entry.fields, report, entry.id);
    replay.entries += page.length;
    await checkOpRecords(redis, `${keys.token}:op:`, replay.opIds.splice(0), report);
    options.onProgress?.({ logEntries: replay.entries, logTotal: Math.max(total, replay.entries), holders: 0 });
  }
  return replay;
}

async function checkRanked(redis: RedisConnection, keys: ReturnType<typeof tokenKeys>, account: string, balance: bigint, report: Report): Promise<void> {
  const [small, big] = await Promise.all([redis.zScore(keys.rankSmall, account), balance >= smallBalanceLimit ? redis.zScore(keys.rank, rankMember(account, String(balance))) : Promise.resolve(null)]);
  if (balance < smallBalanceLimit) {
    if (small !== -Number(balance)) report.fail(`${account} (${balance}) is not ranked in rank:small with score -${balance}`);
  } else {
    if (big !== 0) report.fail(`${account} (${balance}) is not ranked in rank with its encoded balance`);
    if (small !== null) report.fail(`${account} (${balance}) is also in rank:small`);
  }
}

const byRank = ([a, x]: [string, bigint], [b, y]: [string, bigint]) => (x === y ? (a < b ? -1 : a > b ? 1 : 0) : x > y ? -1 : 1);

async function checkBalances(redis: RedisConnection, symbol: string, replay: Replay, pageSize: number, report: Report, options: AuditOptions) {
  const keys = tokenKeys(symbol);
  let cursor = '0';
  let holders = 0;
  let sum = 0n;
  let top: [string, bigint][] = [];
  // SCAN ends within one call per element plus a few: a bound that cannot cut a healthy scan.
  const pagesMax = 10 + (await redis.hLen(keys.balances));
  for (let pages = 0; pages < pagesMax; pages++) {
    const page = await redis.hScan(keys.balances, cursor, { COUNT: pageSize });
    const checks: Promise<void>[] = [];
    for (const { field: account, value } of page.entries) {
      const text = String(value);
      if (!amountPattern.test(text) || text === '0') { report.fail(`${account} holds a malformed or zero balance ${JSON.stringify(text)}`); continue; }
      const balance = BigInt(text);
      holders += 1;
      sum += balance;
      const replayed = replay.balances.get(String(account));
      if (replayed !== balance) report.fail(`${account} holds ${balance} but the log gives ${replayed ?? 0n}`);
      replay.balances.delete(String(account));
      checks.push(checkRanked(redis, keys, String(account), balance, report));
      top.push([String(account), balance]);
    }
    await Promise.all(checks);
    if (top.length > 2 * topMax) top = top.sort(byRank).slice(0, topMax);
    options.onProgress?.({ logEntries: replay.entries, logTotal: replay.entries, holders });
    cursor = String(page.cursor);
    if (cursor === '0') break;
  }
  for (const [account, balance] of replay.balances) report.fail(`the log gives ${account} ${balance} but the balances hold none`);
  return { holders, sum, top: top.sort(byRank).slice(0, topMax) };
}

/** Audits one token; resolves with the report (ok only when every invariant holds). */
export async function auditToken(redis: RedisConnection, symbol: string, options: AuditOptions = {}): Promise<AuditReport> {
  const pageSize = options.pageSize ?? pageSizeDefault;
  const keys = tokenKeys(symbol);
  const report = createReport(symbol);
  const info = await fn.info(redis, symbol); // TOKEN_NOT_FOUND for a missing token
  const replay = await replayLog(redis, symbol, pageSize, report, options);
  const { holders, sum, top } = await checkBalances(redis, symbol, replay, pageSize, report, options);
  if (String(sum) !== info.circulatingSupply) report.fail(`the balances sum to ${sum}, circulatingSupply is ${info.circulatingSupply}`);
  if (String(replay.supply) !== info.totalSupply) report.fail(`init logged a supply of ${replay.supply}, totalSupply is ${info.totalSupply}`);
  if (BigInt(info.totalSupply) - BigInt(info.circulatingSupply) !== replay.burned) report.fail(`the log burned ${replay.burned}, the supplies differ by ${BigInt(info.totalSupply) - BigInt(info.circulatingSupply)}`);
  const ranked = (await redis.zCard(keys.rank)) + (await redis.zCard(keys.rankSmall));
  if (ranked !== holders) report.fail(`${ranked} rank members for ${holders} holders`);
  const served = await fn.top(redis, symbol, topMax);
  const expected = top.map(([account, balance]) => `${account}=${balance}`);
  const actual = served.map((h) => `${h.account}=${h.balance}`);
  const firstDiff = expected.findIndex((line, i) => actual[i] !== line);
  if (firstDiff >= 0 || actual.length !== expected.length) report.fail(`ledger_top differs from the sorted balances at position ${firstDiff >= 0 ? firstDiff + 1 : Math.min(actual.length, expected.length) + 1}`);
  return report.done(holders, replay.entries);
}

