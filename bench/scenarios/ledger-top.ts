// ledger_top 100 latency at 1,000,000 holders (100,000 when quick), one connection, no
// pipelining, beside ZREVRANGE 0 99 WITHSCORES on a plain sorted set of the same holders (the
// target: p99 within 3x). Both answer the same balances; the run checks that they agree.
import { baselineZset, benchKeys, holderAccount, holderBalances, populateLedger } from '../lib/holders.ts';
import { measureLoads, type Measurement } from '../lib/measure.ts';
import { percentile } from '../lib/percentiles.ts';
import { fcallRo, withRedis, type BenchClient } from '../lib/redis-fixture.ts';
import { resultRow } from '../lib/results.ts';
import { runBounded, timed } from '../lib/timing.ts';
import type { BenchContext, ResultRow, Scenario } from '../lib/types.ts';

const topLimit = 100;
const zaddMembersPerCall = 1000;

async function populatePlainZset(clients: BenchClient[], accounts: string[], balances: string[]): Promise<void> {
  const starts = Array.from({ length: Math.ceil(accounts.length / zaddMembersPerCall) }, (_, i) => i * zaddMembersPerCall);
  await runBounded(starts, clients.length * 2, (start, b) => {
    const args = ['ZADD', baselineZset];
    for (let i = start; i < Math.min(start + zaddMembersPerCall, accounts.length); i++) args.push(balances[i]!, accounts[i]!);
    return clients[b % clients.length]!.sendCommand(args);
  });
}

/** The balances of both answers, in order; they must be the same list. */
function checkSameTop(ledgerReply: unknown, zsetReply: unknown): void {
  const ledger = (ledgerReply as unknown[]).map(String).filter((_, i) => i % 2 === 1);
  // RESP3 answers WITHSCORES as [member, score] pairs.
  const zset = (zsetReply as unknown[]).flat().map(String).filter((_, i) => i % 2 === 1);
  if (ledger.length !== topLimit || ledger.join() !== zset.join()) {
    throw new Error(`ledger_top and ZREVRANGE disagree: ${ledger.slice(0, 3)} vs ${zset.slice(0, 3)}`);
  }
}

async function run(ctx: BenchContext): Promise<ResultRow[]> {
  const scenario = `ledger_top ${topLimit} at ${ctx.holders.toLocaleString('en-US')} holders`;
  return withRedis(async (redis) => {
    const accounts = Array.from({ length: ctx.holders }, (_, i) => holderAccount(i));
    const balances = holderBalances(ctx.holders);
    const populators = await redis.connect(4);
    const ledgerFill = await timed(() => populateLedger(populators, accounts, balances));
    const zsetFill = await timed(() => populatePlainZset(populators, accounts, balances));
    for (const client of populators) client.destroy();
    ctx.log(`  populated ${ctx.holders} holders: ledger ${(ledgerFill.ms / 1000).toFixed(1)} s, plain zset ${(zsetFill.ms / 1000).toFixed(1)} s`);

    const topArgs = [String(topLimit)];
    const zrevrange = ['ZREVRANGE', baselineZset, '0', String(topLimit - 1), 'WITHSCORES'];
    const [client] = await redis.connect(1);
    checkSameTop(await fcallRo(client!, 'ledger_top', [benchKeys.token], topArgs), await client!.sendCommand(zrevrange));
    const load = { clients: [client!], inFlightPerClient: 1, latency: true };
    const [top, plain] = await measureLoads(ctx, redis, [
      { ...load, label: 'ledger_top', command: 'fcall_ro', op: (c) => fcallRo(c, 'ledger_top', [benchKeys.token], topArgs) },
      { ...load, label: 'ZREVRANGE', command: 'zrevrange', op: (c) => c.sendCommand(zrevrange) },
    ]) as [Measurement, Measurement];
    const latency = (p: number) => ({
      scenario, figure: `p${p} latency`, unit: 'us', value: percentile(top.latencyUs, p),
      baseline: `ZREVRANGE 0 ${topLimit - 1} WITHSCORES`, baselineValue: percentile(plain.latencyUs, p),
    });
    return [
      resultRow(latency(50)),
      resultRow({ ...latency(99), target: { op: '<=', ratio: 3 },
        note: `round trip from the Node client; server time ${top.serverUsPerCall.toFixed(1)} vs ${plain.serverUsPerCall.toFixed(1)} us per call` }),
      resultRow({ scenario, figure: 'server time per call', unit: 'us', value: top.serverUsPerCall,
        baseline: `ZREVRANGE 0 ${topLimit - 1} WITHSCORES`, baselineValue: plain.serverUsPerCall }),
    ];
  });
}

export const ledgerTop: Scenario = { name: 'ledger-top', run };
