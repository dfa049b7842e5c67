// A snapshot at MIRROR_RPS=20 against the local mirror node, for a bounded time (15 s; 5 s when
// quick): holders/s beside what the limit allows at 100 rows per page (2,000 holders/s; target
// at least 0.9 of it). The time includes the two requests before the first page (token info,
// latest timestamp), as a real run's does.
import { resultRow } from '../lib/results.ts';
import { withSnapshotFixture } from '../lib/snapshots.ts';
import type { BenchContext, ResultRow, Scenario } from '../lib/types.ts';

const mirrorRps = 20;
const rowsPerPage = 100;
/** More than the run can read in its time at the limit, so it never runs out of pages. */
const holders = 50_000;

async function run(ctx: BenchContext): Promise<ResultRow[]> {
  const runMs = ctx.quick ? 5_000 : 15_000;
  return withSnapshotFixture(holders, async ({ run: runSnapshot }) => {
    const snapshot = await runSnapshot({ mode: 'pipeline', rps: mirrorRps, stopAfterMs: runMs });
    if (snapshot.completed) throw new Error(`the snapshot of ${holders} holders finished within ${runMs} ms: raise the holders`);
    const rate = snapshot.holders / (snapshot.elapsedMs / 1000);
    ctx.log(`  MIRROR_RPS=${mirrorRps}: ${Math.round(rate).toLocaleString('en-US')} holders/s ` +
      `(${snapshot.pages} pages in ${(snapshot.elapsedMs / 1000).toFixed(1)} s)`);
    return [
      resultRow({ scenario: `snapshot, MIRROR_RPS=${mirrorRps}`, figure: 'holders/s', unit: '/s', value: rate,
        baseline: `the limit x ${rowsPerPage} rows`, baselineValue: mirrorRps * rowsPerPage, target: { op: '>=', ratio: 0.9 },
        note: `${snapshot.pages} pages in ${(snapshot.elapsedMs / 1000).toFixed(1)} s, plus the token info and latest-timestamp ` +
          `requests under the same limit; local mirror node (no network latency)` }),
    ];
  });
}

export const snapshotRateLimited: Scenario = { name: 'snapshot-rate-limited', run };
