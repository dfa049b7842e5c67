// One snapshot of every holder (1,000,000; 100,000 when quick) from the local mirror node with
// the client's rate limit off, in its own process: holders/s from the request to the stored CID
// (target 20,000) and the process's peak RSS (target 300 MB). No baseline exists, so the
// targets stand in for one; the ceiling of the mirror node and HTTP (plain GET + JSON.parse of the
// same pages, nothing validated or written) is recorded beside it to show what limits the figure.
import { resultRow } from '../lib/results.ts';
import { megabytes, withSnapshotFixture } from '../lib/snapshots.ts';
import type { BenchContext, ResultRow, Scenario } from '../lib/types.ts';

const holdersPerSecondTarget = 20_000;
const rssTargetMb = 300;

async function run(ctx: BenchContext): Promise<ResultRow[]> {
  return withSnapshotFixture(ctx.holders, async ({ mirror, run: runSnapshot }) => {
    ctx.log(`  mirror node: ${mirror.holders.toLocaleString('en-US')} holders ready in ${(mirror.setupMs / 1000).toFixed(1)} s`);
    const snapshot = await runSnapshot({ mode: 'pipeline', rps: 0, stopAfterMs: null });
    if (!snapshot.completed || snapshot.holders !== mirror.holders) {
      throw new Error(`the snapshot read ${snapshot.holders} of ${mirror.holders} holders`);
    }
    const ceiling = await runSnapshot({ mode: 'fetch', rps: 0, stopAfterMs: ctx.quick ? 2_000 : 5_000 });
    const rate = snapshot.holders / (snapshot.elapsedMs / 1000);
    const ceilingRate = ceiling.holders / (ceiling.elapsedMs / 1000);
    const fetchedS = (snapshot.fetchedAtMs ?? snapshot.elapsedMs) / 1000;
    ctx.log(`  snapshot: ${Math.round(rate).toLocaleString('en-US')} holders/s (${(snapshot.elapsedMs / 1000).toFixed(1)} s, ` +
      `pages read by ${fetchedS.toFixed(1)} s), peak RSS ${megabytes(snapshot.rssPeakBytes).toFixed(0)} MB; ` +
      `plain GET ${Math.round(ceilingRate).toLocaleString('en-US')} holders/s`);
    const scenario = `snapshot, rate limit off, ${ctx.holders.toLocaleString('en-US')} holders`;
    const rssNote = `VmHWM of the snapshot process; ${megabytes(snapshot.rssBeforeBytes).toFixed(0)} MB before the snapshot ` +
      `(modules loaded, stores open), highest 100 ms sample ${megabytes(snapshot.rssPeakSampledBytes).toFixed(0)} MB; ` +
      `the mirror node runs in another process`;
    return [
      resultRow({ scenario, figure: 'holders/s', unit: '/s', value: rate,
        baseline: 'target (no baseline)', baselineValue: holdersPerSecondTarget, target: { op: '>=', ratio: 1 },
        note: `request to stored CID: ${(snapshot.elapsedMs / 1000).toFixed(1)} s for ${snapshot.holders.toLocaleString('en-US')} holders, ` +
          `pages read by ${fetchedS.toFixed(1)} s, then the IPFS import of ${megabytes(snapshot.bytes ?? 0).toFixed(0)} MB` }),
      resultRow({ scenario, figure: 'peak RSS', unit: 'MB', value: megabytes(snapshot.rssPeakBytes),
        baseline: 'target (no baseline)', baselineValue: rssTargetMb, target: { op: '<=', ratio: 1 }, note: rssNote }),
      resultRow({ scenario, figure: 'holders/s vs plain GET', unit: '/s', value: rate,
        baseline: 'GET + JSON.parse of the pages', baselineValue: ceilingRate,
        note: `the ceiling of the local mirror node and HTTP on this machine: ${ceiling.pages.toLocaleString('en-US')} pages ` +
          `in ${(ceiling.elapsedMs / 1000).toFixed(1)} s, nothing validated or written` }),
    ];
  });
}

export const snapshotUnlimited: Scenario = { name: 'snapshot-unlimited', run };
