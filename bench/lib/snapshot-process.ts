// A child process running one snapshot the way a worker does (src/snapshots/pipeline.ts
// runSnapshot with the real mirror client, the Redis metadata store and the Helia store in a
// temp dir), so that its peak RSS is the snapshot's own. Sends one SnapshotRunResult.
//
// mode 'pipeline': the snapshot, to the end or until `stopAfterMs` (then aborted: the holders
//                  fetched by then give the rate).
// mode 'fetch':    the ceiling of the mirror node and HTTP: node:http GET + JSON.parse of the
//                  same pages, following links.next, nothing validated or written, for `stopAfterMs`.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { childOptions, exitWithParent, sendToParent } from './child.ts';
import { connectRedis } from '../../src/connections.ts';
import { openIpfsStore } from '../../src/snapshots/ipfs-store.ts';
import { createRedisSnapshotStore } from '../../src/snapshots/store/redis.ts';
import { createMirrorClient, type MirrorClient } from '../../src/snapshots/mirror/client.ts';
import { runSnapshot } from '../../src/snapshots/pipeline.ts';

export interface SnapshotRunOptions {
  mode: 'pipeline' | 'fetch';
  redisUrl: string;
  mirrorUrl: string;
  tokenId: string;
  /** MIRROR_RPS: 0 = no limit. */
  rps: number;
  /** Data directory (ipfs/, snapshots/); the parent removes it. */
  dir: string;
  /** Stop after this long (the rate-limited and fetch runs); null = run to the end. */
  stopAfterMs: number | null;
}

export interface SnapshotRunResult {
  holders: number;
  pages: number;
  elapsedMs: number;
  /** When the last page was read (the rest is the IPFS import and the record); null if aborted. */
  fetchedAtMs: number | null;
  completed: boolean;
  cid: string | null;
  bytes: number | null;
  /** RSS once every module is loaded and every store open, before the snapshot starts. */
  rssBeforeBytes: number;
  /** Highest process.memoryUsage().rss sampled every 100 ms. */
  rssPeakSampledBytes: number;
  /** VmHWM of /proc/self/status: the kernel's record of the peak RSS. */
  rssPeakBytes: number;
}

const rssSampleMs = 100;
const mirrorTimeoutMs = 10_000;
const mirrorAttemptsMax = 6;

function vmHwmBytes(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

function rssSampler(): { peak(): number; stop(): void } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, rssSampleMs);
  return { peak: () => Math.max(peak, process.memoryUsage.rss()), stop: () => clearInterval(timer) };
}

/** The client with every holder that reaches the pipeline counted. */
function counting(mirror: MirrorClient, count: { holders: number; pages: number; lastAtMs: number }): MirrorClient {
  return {
    baseUrl: mirror.baseUrl,
    getToken: (tokenId, options) => mirror.getToken(tokenId, options),
    latestTimestamp: (options) => mirror.latestTimestamp(options),
    highestAccount: (options) => mirror.highestAccount(options),
    async *balancePages(tokenId, timestamp, options) {
      for await (const page of mirror.balancePages(tokenId, timestamp, options)) {
        count.holders += page.holders.length;
        count.pages += 1;
        count.lastAtMs = performance.now();
        yield page;
      }
    },
    close: () => mirror.close(),
  };
}

async function runPipeline(options: SnapshotRunOptions): Promise<SnapshotRunResult> {
  const redis = await connectRedis({ url: options.redisUrl });
  const store = createRedisSnapshotStore({ redis, keyPrefix: 'bench:snap:' });
  const ipfs = await openIpfsStore({ dir: join(options.dir, 'ipfs') });
  const count = { holders: 0, pages: 0, lastAtMs: 0 };
  const mirror = counting(createMirrorClient({
    baseUrl: options.mirrorUrl, rps: options.rps, requestTimeoutMs: mirrorTimeoutMs, maxAttempts: mirrorAttemptsMax, network: null,
  }), count);
  const record = await store.create({ tokenId: options.tokenId, network: 'local', requestedBy: 'bench' });
  const controller = new AbortController();
  const rssBeforeBytes = process.memoryUsage.rss();
  const sampler = rssSampler();
  const startMs = performance.now();
  const timer = options.stopAfterMs === null ? null : setTimeout(() => controller.abort(), options.stopAfterMs);
  let done = null;
  try {
    done = await runSnapshot(record.snapshotId, {
      store, mirror, ipfs, network: null, workDir: join(options.dir, 'snapshots'), signal: controller.signal,
    });
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    if (timer) clearTimeout(timer);
  }
  const elapsedMs = performance.now() - startMs;
  sampler.stop();
  const result: SnapshotRunResult = {
    holders: count.holders, pages: count.pages, elapsedMs,
    fetchedAtMs: done ? count.lastAtMs - startMs : null,
    completed: done !== null, cid: done?.cid ?? null, bytes: done?.bytes ?? null,
    rssBeforeBytes, rssPeakSampledBytes: sampler.peak(), rssPeakBytes: vmHwmBytes(),
  };
  await mirror.close();
  await ipfs.stop();
  redis.destroy();
  return result;
}

interface RawPage { balances: unknown[]; links: { next: string | null } }

function getText(agent: http.Agent, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, signal: AbortSignal.timeout(mirrorTimeoutMs) }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

async function runFetch(options: SnapshotRunOptions): Promise<SnapshotRunResult> {
  const origin = new URL(options.mirrorUrl).origin;
  const agent = new http.Agent({ keepAlive: true });
  let url: string | null = `${options.mirrorUrl}/api/v1/tokens/${options.tokenId}/balances?account.balance=gt:0&order=asc&limit=100&timestamp=lte:9999999999`;
  const rssBeforeBytes = process.memoryUsage.rss();
  const sampler = rssSampler();
  const startMs = performance.now();
  const stopAtMs = startMs + (options.stopAfterMs ?? Infinity);
  let holders = 0;
  let pages = 0;
  while (url !== null && performance.now() < stopAtMs) {
    const page = JSON.parse(await getText(agent, url)) as RawPage;
    holders += page.balances.length;
    pages += 1;
    url = page.links.next === null ? null : `${origin}${page.links.next}`;
  }
  sampler.stop();
  agent.destroy();
  return {
    holders, pages, elapsedMs: performance.now() - startMs, fetchedAtMs: null, completed: url === null, cid: null, bytes: null,
    rssBeforeBytes, rssPeakSampledBytes: sampler.peak(), rssPeakBytes: vmHwmBytes(),
  };
}

const options = childOptions<SnapshotRunOptions>();
exitWithParent(async () => {});
sendToParent(options.mode === 'fetch' ? await runFetch(options) : await runPipeline(options));
