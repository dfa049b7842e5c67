// ledger_transfer throughput with 50 connections, 32 calls in flight on each, beside the original
// design's transfer script (the target: at least half its rate) and a no-op FCALL (the ceiling).
import { cpuNote, measureLoads, type Measurement } from '../lib/measure.ts';
import { withRedis } from '../lib/redis-fixture.ts';
import { resultRow } from '../lib/results.ts';
import { seedTransferWorkload, transferOps } from '../lib/transfers.ts';
import type { BenchContext, ResultRow, Scenario } from '../lib/types.ts';

const connections = 50;
const inFlightPerConnection = 32;
const scenario = `ledger transfer, pipelined, ${connections} connections`;

async function run(ctx: BenchContext): Promise<ResultRow[]> {
  return withRedis(async (redis) => {
    const ops = transferOps(await seedTransferWorkload(redis));
    const clients = await redis.connect(connections);
    const load = { clients, inFlightPerClient: inFlightPerConnection, command: 'fcall' };
    const [ledger, baseline, noop, withOpId] = await measureLoads(ctx, redis, [
      { ...load, label: 'ledger_transfer', op: ops.ledger },
      { ...load, label: 'baseline_transfer', op: ops.baseline },
      { ...load, label: 'baseline_noop', op: ops.noop },
      { ...load, label: 'ledger_transfer with opId', op: ops.ledgerWithOpId },
    ]) as [Measurement, Measurement, Measurement, Measurement];
    const common = { scenario, figure: 'transfers/s', unit: '/s', value: ledger.perSecond };
    return [
      resultRow({ ...common, baseline: 'original transfer script', baselineValue: baseline.perSecond,
        target: { op: '>=', ratio: 0.5 }, note: cpuNote(ledger, baseline) }),
      resultRow({ ...common, baseline: 'no-op FCALL (ceiling)', baselineValue: noop.perSecond, note: cpuNote(ledger, noop) }),
      resultRow({ scenario, figure: 'server time per transfer', unit: 'us', value: ledger.serverUsPerCall,
        baseline: 'original transfer script', baselineValue: baseline.serverUsPerCall,
        note: 'INFO commandstats usec_per_call of FCALL: time inside the server, without client and network (wall-clock, so inflated when the server is preempted)' }),
      resultRow({ ...common, figure: 'transfers/s with opId', value: withOpId.perSecond,
        baseline: 'original transfer script', baselineValue: baseline.perSecond, note: cpuNote(withOpId, baseline) }),
    ];
  });
}

export const ledgerTransferPipelined: Scenario = { name: 'ledger-transfer-pipelined', run };
