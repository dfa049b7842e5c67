// ledger_transfer_batch with 1,000 legs per call, pipelined, in legs per second, beside the
// original design's transfer script pipelined as in ledger-transfer-pipelined (the target: 1.5x
// its transfers per second).
import { benchKeys, legsPerBatch } from '../lib/holders.ts';
import { cpuNote, measureLoads, type Measurement } from '../lib/measure.ts';
import { fcall, withRedis } from '../lib/redis-fixture.ts';
import { resultRow } from '../lib/results.ts';
import { seedTransferWorkload, transferOps, type Leg } from '../lib/transfers.ts';
import type { BenchContext, ResultRow, Scenario } from '../lib/types.ts';

const batchConnections = 4;
const batchInFlightPerConnection = 4;
const baselineConnections = 50;
const baselineInFlightPerConnection = 32;
const scenario = `ledger_transfer_batch, ${legsPerBatch.toLocaleString('en-US')} legs per call`;

/** Prebuilt FCALL arguments, so the client spends its time sending, not formatting. */
function batchArgs(legs: Leg[]): string[][] {
  const batches: string[][] = [];
  for (let start = 0; start + legsPerBatch <= legs.length; start += legsPerBatch) {
    const args = ['-', String(legsPerBatch)];
    for (const leg of legs.slice(start, start + legsPerBatch)) args.push(leg.from, leg.to, leg.amount);
    batches.push(args);
  }
  return batches;
}

async function run(ctx: BenchContext): Promise<ResultRow[]> {
  return withRedis(async (redis) => {
    const legs = await seedTransferWorkload(redis);
    const batches = batchArgs(legs);
    let next = 0;
    const [batch, baseline] = await measureLoads(ctx, redis, [{
      label: 'ledger_transfer_batch', clients: await redis.connect(batchConnections), inFlightPerClient: batchInFlightPerConnection,
      command: 'fcall', op: (client) => fcall(client, 'ledger_transfer_batch', [benchKeys.token], batches[next++ % batches.length]!),
    }, {
      label: 'baseline_transfer', clients: await redis.connect(baselineConnections), inFlightPerClient: baselineInFlightPerConnection,
      command: 'fcall', op: transferOps(legs).baseline,
    }]) as [Measurement, Measurement];
    return [
      resultRow({ scenario, figure: 'legs/s', unit: '/s', value: batch.perSecond * legsPerBatch,
        baseline: 'original transfer script, pipelined', baselineValue: baseline.perSecond,
        target: { op: '>=', ratio: 1.5 }, note: cpuNote(batch, baseline) }),
      resultRow({ scenario, figure: 'server time per leg', unit: 'us', value: batch.serverUsPerCall / legsPerBatch,
        baseline: 'original transfer script', baselineValue: baseline.serverUsPerCall,
        note: 'INFO commandstats usec_per_call of FCALL, divided by the legs per call' }),
    ];
  });
}

export const ledgerTransferBatch: Scenario = { name: 'ledger-transfer-batch', run };
