// Load and audit for the crash scenarios. The load: concurrent transfers, burns and batches, each
// with its own opId, through the TypeScript client (which retries opId calls after connection
// errors), and retried again by the "application" with the same opId until it gets an answer
// (bounded). Every operation's fate goes into a journal. The audit: after recovery, the token's
// log (the stream) is read whole and checked against the journal and the balances, and the
// product's invariant checker (src/ledger/audit.ts, `tally audit`) must find nothing.
import { expect } from 'chai';
import { auditToken as auditLedger } from '../../src/ledger/audit.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import * as ledger from '../../src/ledger/functions.ts';
import { tokenKeys } from '../../src/ledger/keys.ts';
import { isConnectionError } from '../../src/ledger/retry.ts';
import type { RedisConnection } from '../../src/connections.ts';
import { sleep } from '../../testkit/wait.ts';

export type OpKind = 'transfer' | 'burn' | 'batch';

export interface JournalEntry {
  opId: string;
  symbol: string;
  kind: OpKind;
  /** Runs the operation (again) on the given connection, by default the load's. */
  call: (via?: RedisConnection) => Promise<unknown>;
  /** ack: a reply; rejected: a ledger error (commits nothing); unknown: no answer within the bound. */
  outcome: 'pending' | 'ack' | 'rejected' | 'unknown';
  reply?: unknown;
  /** Application-level attempts (each one is itself retried by the client). */
  attempts: number;
  /** Already replayed and checked by an audit. */
  replayed: boolean;
}

export interface LoadOptions {
  redis: RedisConnection;
  symbols: string[];
  accounts: string[];
  treasury: string;
  concurrency: number;
  /** Distinguishes this run's opIds. */
  prefix: string;
  /** How long one operation is retried by the application before it counts as unknown. */
  opDeadlineMs: number;
}

const retryPauseMs = 100;

function randomAmount(maxDigits: number): string {
  const digits = 1 + Math.floor(Math.random() * maxDigits);
  let text = String(1 + Math.floor(Math.random() * 9));
  for (let i = 1; i < digits; i++) text += String(Math.floor(Math.random() * 10));
  return text;
}

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** Is this failure one the application should retry with the same opId? */
function retryable(error: unknown): boolean {
  if (error instanceof LedgerError) return false;
  if (isConnectionError(error)) return true;
  return error instanceof Error && /^(LOADING|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|MOVED|ASK)\b/.test(error.message);
}

export function createLoad(options: LoadOptions) {
  const journal: JournalEntry[] = [];
  let counter = 0;
  let running = false;
  let workers: Promise<void>[] = [];

  function nextOp(): JournalEntry {
    const { redis, accounts, treasury } = options;
    const symbol = pick(options.symbols);
    const opId = `${options.prefix}-${++counter}`;
    const roll = Math.random();
    const holders = [treasury, ...accounts];
    let kind: OpKind;
    let call: (via?: RedisConnection) => Promise<unknown>;
    if (roll < 0.7) {
      kind = 'transfer';
      const from = Math.random() < 0.5 ? treasury : pick(holders);
      let to = pick(accounts);
      if (to === from) to = treasury;
      const leg = { from, to, amount: randomAmount(from === treasury ? 24 : 18), opId };
      call = (via = redis) => ledger.transfer(via, symbol, leg);
    } else if (roll < 0.9) {
      kind = 'burn';
      const burn = { account: pick(holders), amount: randomAmount(16), opId };
      call = (via = redis) => ledger.burn(via, symbol, burn);
    } else {
      kind = 'batch';
      const legs = Array.from({ length: 2 + Math.floor(Math.random() * 3) }, () => {
        const from = pick(holders);
        let to = pick(accounts);
        if (to === from) to = treasury;
        return { from, to, amount: randomAmount(from === treasury ? 22 : 17) };
      });
      call = (via = redis) => ledger.transferBatch(via, symbol, { legs, opId });
    }
    return { opId, symbol, kind, call, outcome: 'pending', attempts: 0, replayed: false };
  }

  async function settle(op: JournalEntry): Promise<void> {
    const deadline = Date.now() + options.opDeadlineMs;
    for (;;) {
      op.attempts += 1;
      try {
        op.reply = await op.call();
        op.outcome = 'ack';
        return;
      } catch (error) {
        if (!retryable(error)) {
          if (!(error instanceof LedgerError)) throw error; // a bug, not a fault: fail the test
          op.outcome = 'rejected';
          op.reply = error.code;
          return;
        }
        if (Date.now() > deadline) { op.outcome = 'unknown'; return; }
        await sleep(retryPauseMs);
      }
    }
  }

  async function worker(): Promise<void> {
    while (running) {
      const op = nextOp();
      journal.push(op);
      await settle(op);
    }
  }

  return {
    journal,
    start() {
      running = true;
      workers = Array.from({ length: options.concurrency }, () => worker());
    },
    /** Stops issuing operations; resolves when every started one has settled. */
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

export interface AuditFigures {
  attempted: number;
  acknowledged: number;
  found: number;
  lost: number;
  rejected: number;
  unknown: number;
  unknownApplied: number;
  duplicated: number;
  logEntries: number;
}

interface StreamEntry { id: string; fields: Map<string, string> }

async function readLog(redis: RedisConnection, symbol: string): Promise<StreamEntry[]> {
  const key = tokenKeys(symbol).log;
  const entries: StreamEntry[] = [];
  let start = '-';
  const pageMax = 5_000;
  for (let page = 0; page < 10_000; page++) {
    const batch = (await redis.xRange(key, start, '+', { COUNT: pageMax })) ?? [];
    for (const { id, message } of batch) entries.push({ id, fields: new Map(Object.entries(message as Record<string, string>)) });
    if (batch.length < pageMax) return entries;
    const [ms, seq] = batch.at(-1)!.id.split('-');
    start = `${ms}-${BigInt(seq!) + 1n}`;
  }
  throw new Error('the log is larger than the audit reads');
}

/** Balances implied by the log: the init entry, then every transfer, burn and batch leg. */
function balancesFromLog(entries: StreamEntry[]): { balances: Map<string, bigint>; burned: bigint; supply: bigint } {
  const balances = new Map<string, bigint>();
  const move = (account: string, delta: bigint) => {
    const next = (balances.get(account) ?? 0n) + delta;
    expect(next >= 0n, `balance of ${account} went negative in the log`).to.equal(true);
    if (next === 0n) balances.delete(account); else balances.set(account, next);
  };
  let burned = 0n;
  let supply = 0n;
  for (const { fields } of entries) {
    const type = fields.get('type');
    if (type === 'init') { supply = BigInt(fields.get('amount')!); move(fields.get('account')!, supply); }
    else if (type === 'transfer') { move(fields.get('from')!, -BigInt(fields.get('amount')!)); move(fields.get('to')!, BigInt(fields.get('amount')!)); }
    else if (type === 'burn') { move(fields.get('account')!, -BigInt(fields.get('amount')!)); burned += BigInt(fields.get('amount')!); }
    else if (type === 'batch') {
      for (const [from, to, amount] of JSON.parse(fields.get('legs')!) as [string, string, string][]) { move(from, -BigInt(amount)); move(to, BigInt(amount)); }
    } else throw new Error(`unexpected log entry type ${type}`);
  }
  return { balances, burned, supply };
}

/**
 * Checks one token after recovery against the journal: every acknowledged operation is in the
 * log exactly once under its eventId, and a replay of its opId returns the recorded reply; no
 * rejected operation is in the log; nothing is in the log twice or without an operation; the
 * balances are what the log implies and sum to circulatingSupply; the rank agrees.
 */
export async function auditToken(redis: RedisConnection, symbol: string, journal: JournalEntry[], options: { lossExpected?: boolean; untracked?: number } = {}): Promise<AuditFigures> {
  const ops = journal.filter((op) => op.symbol === symbol);
  const entries = await readLog(redis, symbol);
  // The log's first entries may have been written before the load, without opIds (init at least).
  const untracked = options.untracked ?? 1;
  const byOpId = new Map<string, StreamEntry[]>();
  for (const [index, entry] of entries.entries()) {
    const opId = entry.fields.get('opId');
    if (opId === undefined) { expect(index < untracked, `only the ${untracked} entries before the load are logged without an opId`).to.equal(true); continue; }
    byOpId.set(opId, [...(byOpId.get(opId) ?? []), entry]);
  }
  const figures: AuditFigures = { attempted: ops.length, acknowledged: 0, found: 0, lost: 0, rejected: 0, unknown: 0, unknownApplied: 0, duplicated: 0, logEntries: entries.length };
  const known = new Set(ops.map((op) => op.opId));
  for (const [opId, list] of byOpId) {
    if (list.length > 1) figures.duplicated += 1;
    expect(known.has(opId), `log entry for an operation nobody sent: ${opId}`).to.equal(true);
  }
  for (const op of ops) {
    const logged = byOpId.get(op.opId) ?? [];
    if (op.outcome === 'ack') {
      figures.acknowledged += 1;
      // A lost operation is counted (and reported by the caller, which requires 0), not thrown.
      if (logged.length === 0) { figures.lost += 1; continue; }
      figures.found += 1;
      const eventId = (op.reply as { eventId: string }).eventId;
      expect(logged.map((e) => e.id), `acknowledged ${op.opId} is logged exactly once, under its eventId`).to.deep.equal([eventId]);
    } else if (op.outcome === 'rejected') {
      figures.rejected += 1;
      expect(logged, `rejected ${op.opId} (${String(op.reply)}) committed nothing`).to.have.length(0);
    } else {
      expect(op.outcome, `${op.opId} settled`).to.equal('unknown');
      figures.unknown += 1;
      if (logged.length > 0) figures.unknownApplied += 1;
      expect(logged.length, `unknown ${op.opId} applied at most once`).to.be.at.most(1);
    }
  }
  // Lost operations are reported; unless a loss is the scenario (failover), the checks below
  // would be moot. (Replays skip lost operations: a replay would apply them anew.)
  if (figures.lost > 0 && !options.lossExpected) return figures;
  expect(figures.duplicated, 'operations logged twice').to.equal(0);
  expect(entries.length, 'one log entry per applied operation, plus those before the load').to.equal(untracked + byOpId.size);

  // Replaying an acknowledged opId returns the recorded reply (once per operation and run).
  const replays = ops.filter((op) => op.outcome === 'ack' && !op.replayed && byOpId.has(op.opId));
  for (let i = 0; i < replays.length; i += 200) {
    await Promise.all(replays.slice(i, i + 200).map(async (op) => {
      expect(await op.call(redis), `replay of ${op.opId}`).to.deep.equal(op.reply);
      op.replayed = true;
    }));
  }

  const model = balancesFromLog(entries);
  const keys = tokenKeys(symbol);
  const stored = new Map(Object.entries(await redis.hGetAll(keys.balances) as Record<string, string>).map(([a, b]) => [a, BigInt(b)]));
  expect(Object.fromEntries([...stored].sort().map(([a, b]) => [a, String(b)])), 'balances are what the log implies')
    .to.deep.equal(Object.fromEntries([...model.balances].sort().map(([a, b]) => [a, String(b)])));
  const supply = await ledger.supply(redis, symbol);
  const sum = [...stored.values()].reduce((s, b) => s + b, 0n);
  expect(String(sum), 'the balances sum to circulatingSupply').to.equal(supply.circulatingSupply);
  expect(BigInt(supply.totalSupply) - BigInt(supply.circulatingSupply), 'burned = totalSupply - circulatingSupply').to.equal(model.burned);
  const top = await ledger.top(redis, symbol, 1_000);
  const sorted = [...stored].sort(([a, x], [b, y]) => (x === y ? (a < b ? -1 : 1) : x > y ? -1 : 1));
  expect(top.map((h) => `${h.account}=${h.balance}`), 'the rank agrees with the balances').to.deep.equal(sorted.slice(0, 1_000).map(([a, b]) => `${a}=${b}`));
  // And the product's own invariant checker (tally audit) agrees.
  const report = await auditLedger(redis, symbol);
  expect(report.violations, `tally audit ${symbol}`).to.deep.equal([]);
  expect(report.ok).to.equal(true);
  return figures;
}

export function addFigures(total: AuditFigures, part: AuditFigures): AuditFigures {
  const sum = { ...total };
  for (const key of Object.keys(sum) as (keyof AuditFigures)[]) sum[key] += part[key];
  return sum;
}

export const noFigures = (): AuditFigures => ({ attempted: 0, acknowledged: 0, found: 0, lost: 0, rejected: 0, unknown: 0, unknownApplied: 0, duplicated: 0, logEntries: 0 });
