// ledger_transfer latency on one connection with one call at a time (no pipelining), beside a
// no-op FCALL on the same connection (the target: p99 within 2x), and the unpipelined rate
// beside the original design's transfer script.
import { cpuNote, measureLoads, type Measurement } from '../lib/measure.ts';
import { percentile } from '../lib/percentiles.ts';
import { withRedis } from '../lib/redis-fixture.ts';
import { resultRow } from '../lib/results.ts';
import { seedTransferWorkload, transferOps } from '../lib/transfers.ts';
import type { BenchContext, ResultRow, Scenario } from '../lib/types.ts';

const scenario = 'ledger transfer, one connection, no pipelining';

async function run(ctx: BenchContext): Promise<ResultRow[]> {
  return withRedis(async (redis) => {
    const ops = transferOps(await seedTransferWorkload(redis));
    const clients = await redis.connect(1);
    const load = { clients, inFlightPerClient: 1, command: 'fcall', latency: true };
    const [ledger, noop, baseline] = await measureLoads(ctx, redis, [
      { ...load, label: 'ledger_transfer', op: ops.ledger },
      { ...load, label: 'baseline_noop', op: ops.noop },
      { ...load, label: 'baseline_transfer', op: ops.baseline },
    ]) as [Measurement, Measurement, Measurement];
    const note = `round trip from the Node client, ${ledger.latencyUs.length.toLocaleString('en-US')} vs ` +
      `${noop.latencyUs.length.toLocaleString('en-US')} samples; server time ${ledger.serverUsPerCall.toFixed(1)} vs ` +
      `${noop.serverUsPerCall.toFixed(1)} us per call`;
    const latency = (p: number) => ({
      scenario, figure: `p${p} latency`, unit: 'us', value: percentile(ledger.latencyUs, p),
      baseline: 'no-op FCALL', baselineValue: percentile(noop.latencyUs, p),
    });
    return [
      resultRow(latency(50)),
      resultRow({ ...latency(99), target: { op: '<=', ratio: 2 }, note }),
      resultRow({ scenario, figure: 'p99 latency vs original', unit: 'us', value: percentile(ledger.latencyUs, 99),
        baseline: 'original transfer script', baselineValue: percentile(baseline.latencyUs, 99) }),
      resultRow({ scenario, figure: 'transfers/s', unit: '/s', value: ledger.perSecond,
        baseline: 'original transfer script', baselineValue: baseline.perSecond, note: cpuNote(ledger, baseline) }),
    ];
  });
}

export const ledgerTransferLatency: Scenario = { name: 'ledger-transfer-latency', run };
