// Redis memory per holder at 1,000,000 holders (100,000 when quick), each side on its own fresh
// redis-server: Tally's balances hash + rank sorted set against the original design's
// `balance:{account}` string key + `balances:zset` member (the target: no more than it).
//
// The figure is the growth of INFO used_memory from before the holders to after them, once the
// server has settled, divided by the holders. Tally's log (one entry per operation, not per
// holder) is measured with MEMORY USAGE and deleted before the reading; it is reported apart.
import { baselineZset, benchKeys, holderAccount, holderBalances, initLedgerToken, legsPerBatch, payHolders, populateBaseline } from '../lib/holders.ts';
import { settledUsedMemory, withRedis, type BenchClient, type BenchRedis } from '../lib/redis-fixture.ts';
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

async function ledgerSide(holders: number, accounts: string[], balances: string[]): Promise<Side & { logBytesPerLeg: number }> {
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
    return { bytesPerHolder: (after - before) / holders, parts, logBytesPerLeg: logBytes / holders };
  });
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

async function run(ctx: BenchContext): Promise<ResultRow[]> {
  const holders = ctx.holders;
  const scenario = 'Redis memory';
  const accounts = Array.from({ length: holders }, (_, i) => holderAccount(i));
  const balances = holderBalances(holders);
  const ledger = await ledgerSide(holders, accounts, balances);
  const baseline = await baselineSide(holders, accounts, balances);
  const parts = (side: Side) => [...side.parts].map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
  ctx.log(`  ledger ${ledger.bytesPerHolder.toFixed(1)} B/holder (${parts(ledger)}); original ${baseline.bytesPerHolder.toFixed(1)} B/holder (${parts(baseline)})`);
  return [
    resultRow({ scenario, figure: `bytes per holder at ${holders.toLocaleString('en-US')} holders`, unit: 'B',
      value: ledger.bytesPerHolder, baseline: 'string key + sorted set per holder', baselineValue: baseline.bytesPerHolder,
      target: { op: '<=', ratio: 1 },
      note: `used_memory growth on a fresh server per side; MEMORY USAGE per holder: ${parts(ledger)} vs ${parts(baseline)}` }),
    resultRow({ scenario, figure: 'log bytes per transfer leg', unit: 'B', value: ledger.logBytesPerLeg,
      baseline: 'bytes per holder, original', baselineValue: baseline.bytesPerHolder,
      note: `the token's log after ${holders / legsPerBatch} batches of ${legsPerBatch} legs (not part of the per-holder figure; the original design's log is not counted either)` }),
  ];
}

export const ledgerMemory: Scenario = { name: 'ledger-memory', run };
