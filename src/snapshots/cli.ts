// `tally snapshot`, `tally cat`, `tally car` (SPEC §9). `snapshot` runs one snapshot in this
// process, with a progress bar on stderr and one JSON line on stdout; the record goes to the
// configured store (MongoDB when MONGODB_URL is set, else Redis), the bytes to the Helia store
// under DATA_DIR/ipfs, shared with the server on the same machine.
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { UsageError } from '../cli.ts';
import { mirrorNodeUrls } from '../config.ts';
import { isHederaNetwork, type HederaNetwork } from './hedera-ids.ts';
import type { SnapshotStore } from './store/metadata-store.ts';

const mirrorTimeoutMs = 10_000;
const mirrorAttemptsMax = 6;
const mirrorRpsDefault = 20;
const mirrorRpsMax = 1_000;

function network(value: string | undefined): HederaNetwork {
  const name = value ?? 'testnet';
  if (!isHederaNetwork(name)) throw new UsageError(`the network must be mainnet, testnet or previewnet, got "${name}"`);
  return name;
}

function mirrorUrl(value: string | undefined, net: HederaNetwork): string {
  const text = value ?? mirrorNodeUrls[net];
  let url: URL;
  try { url = new URL(text); } catch { throw new UsageError(`the mirror URL "${text}" is not a URL`); }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`the mirror URL must be http(s), got "${text}"`);
  return text.replace(/\/+$/, '');
}

function mirrorRps(value: string | undefined): number {
  if (value === undefined) return mirrorRpsDefault;
  const rps = Number(value);
  if (!Number.isInteger(rps) || rps < 1 || rps > mirrorRpsMax) throw new UsageError(`MIRROR_RPS must be an integer in 1..${mirrorRpsMax}`);
  return rps;
}

const dataDir = (context: CliContext) => context.env.DATA_DIR ?? './data';

async function withIpfs<T>(context: CliContext, fn: (ipfs: import('./ipfs-store.ts').IpfsStore) => Promise<T>): Promise<T> {
  const { openIpfsStore } = await import('./ipfs-store.ts');
  const ipfs = await openIpfsStore({ dir: join(dataDir(context), 'ipfs') });
  try { return await fn(ipfs); } finally { await ipfs.stop(); }
}

async function writeStdout(source: AsyncIterable<Uint8Array>): Promise<void> {
  await pipeline(Readable.from(source), process.stdout, { end: false });
}

async function runSnapshotCommand(context: CliContext, tokenIdArg: string, options: { timestamp?: string; mirrorUrl?: string; network?: string }): Promise<void> {
  const net = network(options.network ?? context.env.HEDERA_NETWORK);
  const baseUrl = mirrorUrl(options.mirrorUrl ?? context.env.MIRROR_NODE_URL, net);
  const [{ validateTokenId, validateTimestamp }, { createMirrorClient }, { runSnapshot }] = await Promise.all([
    import('./service.ts'), import('./mirror/client.ts'), import('./pipeline.ts'),
  ]);
  const tokenId = validateTokenId(tokenIdArg, net);
  const requestedTimestamp = validateTimestamp(options.timestamp) ?? null;
  const mirror = createMirrorClient({ baseUrl, rps: mirrorRps(context.env.MIRROR_RPS), requestTimeoutMs: mirrorTimeoutMs, maxAttempts: mirrorAttemptsMax, network: net });
  // Also drawn (once a second, and at the end) when stderr is not a terminal, e.g. in a log.
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: `snapshot ${tokenId} [{bar}] {percentage}%`, hideCursor: false,
    noTTYOutput: true, notTTYSchedule: 1_000 }, cliProgress.Presets.shades_classic);
  try {
    const run = async (store: SnapshotStore) => {
      const record = await store.create({ tokenId, network: net, requestedTimestamp, requestedBy: context.env.USER ?? 'cli' });
      return withIpfs(context, async (ipfs) => {
        bar.start(100, 0);
        try {
          const done = await runSnapshot(record.snapshotId, {
            store, mirror, ipfs, network: net, workDir: join(dataDir(context), 'snapshots'),
            onProgress: (progress) => { bar.update(progress); },
          }).catch(async (error: Error & { code?: string }) => {
            await store.update(record.snapshotId, { status: 'failed', error: { code: error.code ?? 'SNAPSHOT_FAILED', message: error.message.slice(0, 500) } }).catch(() => {});
            throw error;
          });
          bar.update(100);
          return done;
        } finally {
          bar.stop();
        }
      });
    };
    const done = context.env.MONGODB_URL
      ? await (async () => {
        const { createMongoSnapshotStore } = await import('./store/mongo.ts');
        const store = await createMongoSnapshotStore({ url: context.env.MONGODB_URL });
        try { return await run(store); } finally { await store.close(); }
      })()
      : await context.withLedger(async (_ledger, redis) => {
        const { createRedisSnapshotStore } = await import('./store/redis.ts');
        const { isCluster } = await import('../redis.ts');
        const ns = context.env.TALLY_NAMESPACE ?? 'tally';
        return run(createRedisSnapshotStore({ redis, keyPrefix: isCluster(redis) ? `{${ns}:snap}:` : `${ns}:snap:` }));
      });
    context.print(JSON.stringify({ snapshotId: done.snapshotId, tokenId: done.tokenId, cid: done.cid, holders: done.holders,
      totalBalance: done.totalBalance, consensusTimestamp: done.consensusTimestamp }));
  } finally {
    await mirror.close();
  }
}

export function registerCommands(program: Command, context: CliContext): void {
  program.command('snapshot')
    .description('snapshot every holder of a Hedera token into IPFS; prints {snapshotId, tokenId, cid, holders, totalBalance, consensusTimestamp}')
    .argument('<tokenId>', 'Hedera token id, e.g. 0.0.1234 (a HIP-15 checksum is checked against the network)')
    .option('--timestamp <T>', 'consensus timestamp seconds.nanoseconds (default: the latest balance snapshot)')
    .option('--mirror-url <URL>', 'mirror node base URL (default: MIRROR_NODE_URL, else the network\'s public one)')
    .option('--network <N>', 'mainnet, testnet or previewnet (default: HEDERA_NETWORK, else testnet)')
    .action((tokenId: string, options: { timestamp?: string; mirrorUrl?: string; network?: string }) => runSnapshotCommand(context, tokenId, options));

  program.command('cat')
    .description('write the bytes stored under a CID (in DATA_DIR/ipfs) to stdout')
    .argument('<cid>', 'the CID a snapshot printed')
    .action((cid: string) => withIpfs(context, (ipfs) => writeStdout(ipfs.cat(cid))));

  program.command('car')
    .description('write the DAG of a CID as a CAR file to stdout, for pinning services (tally car <cid> > file.car)')
    .argument('<cid>', 'the CID a snapshot printed')
    .action((cid: string) => withIpfs(context, (ipfs) => writeStdout(ipfs.exportCar(cid))));
}
