// Redis memory per holder at 1,000,000 holders (100,000 when quick), each side on its own fresh
// redis-server: Tally's balances hash + rank sorted set against the original design's
// `balance:{account}` string key + `balances:zset` member (the target: no more than it), once with
// balances below 2^53 (8 decimals) and once with the same balances at 18 decimals (x 10^10).
// Then, on the first ledger: the log's bytes per single transfer, per transfer with an opId, and
// the opId record's size.
//
// The figure is the growth of INFO used_memory from before the holders to after them, once the
// server has settled, divided by the holders. Tally's log (one entry per operation, not per
// holder) is measured with MEMORY USAGE and deleted before the reading; it is reported apart.
import { runBounded } from '../lib/timing.ts';
import { declaredKeys } from '../../src/ledger/keys.ts';
import { baselineZset, benchKeys, benchSymbol, holderAccount, holderBalances, initLedgerToken, legsPerBatch, payHolders, populateBaseline } from '../lib/holders.ts';
import { fcall, settledUsedMemory, withRedis, type BenchClient, type BenchRedis } from '../lib/redis-fixture.ts';
import { resultRow } from '../lib/results.ts';
import type { BenchContext, ResultRow, Scenario } from '../lib/types.ts';

interface Side {
  bytesPerHolder: number;
  /** MEMORY USAGE ... SAMPLES 0 of the named keys, per holder. */
  parts: Map<string, number>;
}

async function memoryUsage(admin: BenchClient, key: string): Promise<number> {
  return Number(await admin.sendCommand(['MEMORY', 'USAGE', key, 'SAMPLES', '0']));
}

/** used_memory before `fill` runs (on connections closed before the next reading). */
async function fillFrom(redis: BenchRedis, fill: (clients: BenchClient[]) => Promise<void>): Promise<number> {
  const before = await settledUsedMemory(redis.admin);
  const clients = await redis.connect(4);
  await fill(clients);
  for (const client of clients) client.destroy();
  return before;
}

/** MEMORY USAGE of every key of the bench token but its hash and log, by key suffix. */
async function tokenKeyBytes(admin: BenchClient): Promise<Map<string, number>> {
  const bytes = new Map<string, number>();
  for await (const keys of admin.scanIterator({ MATCH: `${benchKeys.token}:*`, COUNT: 100 })) {
    for (const key of keys) {
      if (key !== benchKeys.log) bytes.set(`token:{SYM}${key.slice(benchKeys.token.length)}`, await memoryUsage(admin, key));
    }
  }
  return bytes;
}

interface LedgerSide extends Side {
  logBytesPerLeg: number;
  logBytesPerTransfer: number;
  logBytesPerTransferWithOpId: number;
  opRecordBytes: number;
}

async function ledgerSide(holders: number, accounts: string[], balances: string[]): Promise<LedgerSide> {
  return withRedis(async (redis) => {
    // The token exists before the first reading, so only the holders' share is measured.
    await initLedgerToken(redis.admin, balances);
    const before = await fillFrom(redis, (clients) => payHolders(clients, accounts, balances));
    const logBytes = await memoryUsage(redis.admin, benchKeys.log);
    const parts = await tokenKeyBytes(redis.admin);
    await redis.admin.del(benchKeys.log);
    const after = await settledUsedMemory(redis.admin);
    const count = Number(await redis.admin.hLen(benchKeys.balances));
    if (count !== holders) throw new Error(`the token has ${count} holders, expected ${holders}`);
    for (const [key, bytes] of parts) parts.set(key, bytes / holders);
    return { bytesPerHolder: (after - before) / holders, parts, logBytesPerLeg: logBytes / holders, ...await singleOperations(redis, accounts) };
  });
}

const singleTransfers = 10_000;

/** Log bytes per single transfer, without and with an opId, and the opId record's MEMORY USAGE (the log empty before each). */
async function singleOperations(redis: BenchRedis, accounts: string[]) {
  const clients = await redis.connect(4);
  const transfer = async (opId: (i: number) => string) => {
    await runBounded(Array.from({ length: singleTransfers }, (_, i) => i), clients.length * 8, (i) => {
      const from = accounts[i % accounts.length]!;
      const to = accounts[(i + 1) % accounts.length]!;
      const id = opId(i);
      const keys = id === '-' ? [benchKeys.token] : declaredKeys(benchSymbol, id);
      return fcall(clients[i % clients.length]!, 'ledger_transfer', keys, [from, to, '1', id]);
    });
    const bytes = await memoryUsage(redis.admin, benchKeys.log);
    await redis.admin.del(benchKeys.log);
    return bytes / singleTransfers;
  };
  try {
    const logBytesPerTransfer = await transfer(() => '-');
    const logBytesPerTransferWithOpId = await transfer((i) => `bench-op-${i}`);
    const opRecordBytes = await memoryUsage(redis.admin, `${benchKeys.token}:op:bench-op-0`);
    return { logBytesPerTransfer, logBytesPerTransferWithOpId, opRecordBytes };
  } finally {
    for (const client of clients) client.destroy();
  }
}

async function baselineSide(holders: number, accounts: string[], balances: string[]): Promise<Side> {
  return withRedis(async (redis) => {
    const before = await fillFrom(redis, (clients) => populateBaseline(clients, accounts, balances));
    const after = await settledUsedMemory(redis.admin);
    const zsetBytes = await memoryUsage(redis.admin, baselineZset);
    const count = Number(await redis.admin.zCard(baselineZset));
    if (count !== holders) throw new Error(`balances:zset has ${count} members, expected ${holders}`);
    const bytesPerHolder = (after - before) / holders;
    return {
      bytesPerHolder,
      parts: new Map([['balances:zset', zsetBytes / holders], ['string keys (the rest)', bytesPerHolder - zsetBytes / holders]]),
    };
  });
}

/** The same balances at 18 decimals instead of 8: every one above 2^53, as an ERC-20 style token's are. */
const at18Decimals = (balances: string[]) => balances.map((b) => `${b}0000000000`);

async function run(ctx: BenchContext): Promise<ResultRow[]> {
  const holders = ctx.holders;
  const scenario = 'Redis memory';
  const accounts = Array.from({ length: holders }, (_, i) => holderAccount(i));
  const small = holderBalances(holders);
  const parts = (side: Side) => [...side.parts].map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
  const rows: ResultRow[] = [];
  let first: LedgerSide | undefined;
  let firstBaseline: Side | undefined;
  for (const [label, balances] of [['balances below 2^53', small], ['18-decimal balances', at18Decimals(small)]] as const) {
    const ledger = await ledgerSide(holders, accounts, balances);
    const baseline = await baselineSide(holders, accounts, balances);
    first ??= ledger;
    firstBaseline ??= baseline;
    ctx.log(`  ${label}: ledger ${ledger.bytesPerHolder.toFixed(1)} B/holder (${parts(ledger)}); original ${baseline.bytesPerHolder.toFixed(1)} B/holder (${parts(baseline)})`);
    rows.push(resultRow({ scenario, figure: `bytes per holder at ${holders.toLocaleString('en-US')} holders, ${label}`, unit: 'B',
      value: ledger.bytesPerHolder, baseline: 'string key + sorted set per holder', baselineValue: baseline.bytesPerHolder,
      // Only where the original design holds the same balances exactly; above 2^53 it is a shape, not a rival.
      ...(label === 'balances below 2^53' ? { target: { op: '<=', ratio: 1 } as const } : {}),
      note: `used_memory growth on a fresh server per side; MEMORY USAGE per holder: ${parts(ledger)} vs ${parts(baseline)}` +
        (label === '18-decimal balances' ? '; the original design could not hold these (INCRBY stops at 2^63): its side stores the same digits' : '') }));
  }
  const { logBytesPerLeg, logBytesPerTransfer, logBytesPerTransferWithOpId, opRecordBytes } = first!;
  ctx.log(`  log: ${logBytesPerLeg.toFixed(1)} B per batch leg, ${logBytesPerTransfer.toFixed(1)} B per transfer, ` +
    `${logBytesPerTransferWithOpId.toFixed(1)} B with an opId; opId record ${opRecordBytes} B`);
  const perHolder = firstBaseline!.bytesPerHolder;
  rows.push(
    resultRow({ scenario, figure: 'log bytes per transfer leg', unit: 'B', value: logBytesPerLeg,
      baseline: 'bytes per holder, original', baselineValue: perHolder,
      note: `the token's log after ${holders / legsPerBatch} batches of ${legsPerBatch} legs (not part of the per-holder figure; the original design's log is not counted either)` }),
    resultRow({ scenario, figure: 'log bytes per single transfer', unit: 'B', value: logBytesPerTransfer,
      baseline: 'bytes per holder, original', baselineValue: perHolder,
      note: `MEMORY USAGE of the log after ${singleTransfers.toLocaleString('en-US')} ledger_transfer calls without an opId` }),
    resultRow({ scenario, figure: 'log bytes per transfer with an opId', unit: 'B', value: logBytesPerTransferWithOpId,
      baseline: 'bytes per holder, original', baselineValue: perHolder,
      note: `the log alone; each also keeps an opId record (next row) for the token's opTtlSeconds` }),
    resultRow({ scenario, figure: 'opId record', unit: 'B', value: opRecordBytes,
      baseline: 'bytes per holder, original', baselineValue: perHolder,
      note: 'MEMORY USAGE of one token:{SYM}:op:<opId> key (a short opId): the parameters digest and the reply, with its TTL' }),
  );
  return rows;
}

export const ledgerMemory: Scenario = { name: 'ledger-memory', run };
