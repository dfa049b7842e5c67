// What the pipeline tests share: a local mirror node over HTTP, the Redis metadata store on the
// shared Redis, the offline Helia importer in a temporary folder, and a mirror client with quick
// retries; `deps()` gives runSnapshot its dependencies, `close()` stops and removes it all.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeMirrorNode, type StartMirrorNodeOptions, startMirrorNode } from '../../testkit/mirror-node.ts';
import { connect } from '../../testkit/clients.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { createMirrorClient, type MirrorClient } from '../../src/snapshots/mirror/client.ts';
import { openIpfsStore, type IpfsStore } from '../../src/snapshots/ipfs-store.ts';
import { createRedisSnapshotStore } from '../../src/snapshots/store/redis.ts';
import type { SnapshotStore } from '../../src/snapshots/store/metadata-store.ts';
import type { PipelineDeps } from '../../src/snapshots/pipeline.ts';

export interface PipelineRig {
  node: FakeMirrorNode;
  store: SnapshotStore;
  ipfs: IpfsStore;
  mirror: MirrorClient;
  dir: string;
  deps(overrides?: Partial<PipelineDeps>): PipelineDeps;
  close(): Promise<void>;
}

export async function startPipelineRig(mirrorNode: StartMirrorNodeOptions, options: { maxAttempts?: number } = {}): Promise<PipelineRig> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-pipeline-'));
  const node = await startMirrorNode(mirrorNode);
  const redis = await connect(sharedRedisUrl());
  const store = createRedisSnapshotStore({ redis, keyPrefix: `test:pipe:${uniqueSymbol().toLowerCase()}:` });
  const ipfs = await openIpfsStore({ dir: join(dir, 'ipfs') });
  const mirror = createMirrorClient({ baseUrl: node.url, rps: 0, requestTimeoutMs: 5_000, maxAttempts: options.maxAttempts ?? 5,
    retryBaseDelayMs: 10, retryMaxDelayMs: 50, network: 'testnet' });
  return {
    node, store, ipfs, mirror, dir,
    deps: (overrides = {}) => ({ store, mirror, ipfs, workDir: join(dir, 'work'), network: 'testnet', ...overrides }),
    async close() {
      await mirror.close(); await ipfs.stop(); await node.close();
      redis.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The bytes of a CID, as text. */
export async function collect(source: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}
