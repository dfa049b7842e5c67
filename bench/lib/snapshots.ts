// The snapshot scenarios' fixture: a redis-server for the metadata store, the local mirror node
// in its own process, and each snapshot run in a fresh child process with its own temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild } from './child.ts';
import type { MirrorNodeOptions, MirrorNodeReady } from './mirror-node-process.ts';
import type { SnapshotRunOptions, SnapshotRunResult } from './snapshot-process.ts';
import { startRedis } from '../../testkit/redis-server.ts';

export const snapshotTokenId = '0.0.424242';
/** Generating and sorting 1,000,000 holders in the mirror node takes about 10 s. */
const mirrorStartTimeoutMs = 120_000;
/** A snapshot of 1,000,000 holders at the target rate takes under a minute. */
const snapshotTimeoutMs = 600_000;

export interface SnapshotFixture {
  mirror: MirrorNodeReady;
  /** One run in a fresh process; `nodeArgs` e.g. ['--cpu-prof'] to profile it. */
  run(options: Pick<SnapshotRunOptions, 'mode' | 'rps' | 'stopAfterMs'>, nodeArgs?: string[]): Promise<SnapshotRunResult>;
}

export async function withSnapshotFixture<T>(holders: number, fn: (fixture: SnapshotFixture) => Promise<T>): Promise<T> {
  const redis = await startRedis();
  const options: MirrorNodeOptions = { tokenId: snapshotTokenId, holders, seed: 5 };
  const mirrorChild = startChild<MirrorNodeReady>(new URL('./mirror-node-process.ts', import.meta.url), options);
  try {
    const mirror = await mirrorChild.next(mirrorStartTimeoutMs);
    return await fn({
      mirror,
      async run(runOptions, nodeArgs = []) {
        const dir = mkdtempSync(join(tmpdir(), 'tally-bench-snap-'));
        const child = startChild<SnapshotRunResult>(new URL('./snapshot-process.ts', import.meta.url),
          { ...runOptions, redisUrl: redis.url, mirrorUrl: mirror.url, tokenId: snapshotTokenId, dir } satisfies SnapshotRunOptions, nodeArgs);
        try {
          return await child.next(snapshotTimeoutMs);
        } finally {
          await child.stop();
          rmSync(dir, { recursive: true, force: true });
        }
      },
    });
  } finally {
    await mirrorChild.stop();
    await redis.stop();
  }
}

export const megabytes = (bytes: number) => bytes / 2 ** 20;
