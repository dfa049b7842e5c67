// `tally snapshot`, `tally cat`, `tally car` (docs/commands.md). `snapshot` runs one snapshot in this
// process, with a progress bar on stderr and one JSON line on stdout; the record goes to the
// configured store (MongoDB when MONGODB_URL is set, else Redis), the bytes to the Helia store
// under DATA_DIR/ipfs, shared with the server on the same machine. The mirror node settings are
// the server's (src/config.ts: HEDERA_NETWORK, MIRROR_NODE_URL, MIRROR_RPS, MIRROR_TIMEOUT_MS,
// MIRROR_ATTEMPTS, MIRROR_RETRY_BASE_MS); --network and --mirror-url override the first two.
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import type { IpfsStore } from '../snapshots/ipfs-store.ts';
import type { SnapshotRunStatus } from '../snapshots/pipeline.ts';
import type { SnapshotStore } from '../snapshots/store/metadata-store.ts';
import { UsageError, type CliContext } from './context.ts';

interface SnapshotOptions { timestamp?: string; mirrorUrl?: string; network?: string; filters?: string; combine?: string }

/** Bounds what --filters may hold before it is parsed (a filter is at most 100 accounts). */
const filtersArgCharsMax = 16 * 1024;

/**
 * The request's target from the arguments: one token and `--filters {...}`, or several tokens with
 * `--combine all|any` and `--filters {"<tokenId>": {...}}` per token. Checked as REST checks a body.
 */
async function snapshotTarget(tokenIds: string[], options: SnapshotOptions, network: Config['hedera']['network']) {
  const { validateTarget } = await import('../snapshots/service.ts');
  let filters: unknown;
  if (options.filters !== undefined) {
    if (options.filters.length > filtersArgCharsMax) throw new UsageError(`--filters is longer than ${filtersArgCharsMax} characters`);
    try { filters = JSON.parse(options.filters); } catch { throw new UsageError('--filters must be a JSON object, e.g. \'{"minBalance":"100","exclude":["treasury"]}\''); }
  }
  if (tokenIds.length === 1 && options.combine === undefined) return validateTarget({ tokenId: tokenIds[0]!, ...(filters !== undefined ? { filters: filters as never } : {}) }, network);
  if (options.combine === undefined) throw new UsageError('several tokens make a combination: add --combine all or --combine any');
  const perToken = (filters ?? {}) as Record<string, unknown>;
  if (typeof perToken !== 'object' || perToken === null || Array.isArray(perToken) || Object.keys(perToken).some((k) => !tokenIds.includes(k))) {
    throw new UsageError('with --combine, --filters is a JSON object of filters by token id, e.g. \'{"0.0.1001":{"minBalance":"100"}}\'');
  }
  return validateTarget({ combine: options.combine as 'all', tokens: tokenIds.map((tokenId) => ({ tokenId, ...(perToken[tokenId] !== undefined ? { filters: perToken[tokenId] as never } : {}) })) }, network);
}

type SnapshotCliConfig = Pick<Config, 'hedera' | 'dataDir' | 'mongodbUrl' | 'jobs'>;

function snapshotConfig(context: CliContext, options: SnapshotOptions = {}): Readonly<SnapshotCliConfig> {
  return loadConfig({
    ...context.env,
    ...(options.network !== undefined ? { HEDERA_NETWORK: options.network } : {}),
    ...(options.mirrorUrl !== undefined ? { MIRROR_NODE_URL: options.mirrorUrl } : {}),
  }, ['hedera', 'dataDir', 'mongodbUrl', 'jobs']);
}

export async function openIpfs(dataDir: string): Promise<IpfsStore> {
  const { openIpfsStore } = await import('../snapshots/ipfs-store.ts');
  return openIpfsStore({ dir: join(dataDir, 'ipfs') });
}

async function withIpfs<T>(dataDir: string, fn: (ipfs: IpfsStore) => Promise<T>): Promise<T> {
  const ipfs = await openIpfs(dataDir);
  try { return await fn(ipfs); } finally { await ipfs.stop(); }
}

/**
 * A Helia store opened on first use or by `open()`. `tally snapshot` opens it once the first page
 * has come (about 0.9 s of module loading, on the one thread), so that it loads while the pages
 * are read, which need it only at the end.
 */
export function lazyIpfs(dataDir: string) {
  let opening: Promise<IpfsStore> | null = null;
  const open = () => (opening ??= openIpfs(dataDir));
  const streamOf = (read: (ipfs: IpfsStore) => AsyncIterable<Uint8Array>) => (async function* () { yield* read(await open()); })();
  const stop = async () => { await opening?.then((ipfs) => ipfs.stop(), () => {}); };
  const store: IpfsStore = {
    addBytes: async (source, options) => (await open()).addBytes(source, options),
    cat: (cid, options) => streamOf((ipfs) => ipfs.cat(cid, options)),
    exportCar: (cid, options) => streamOf((ipfs) => ipfs.exportCar(cid, options)),
    has: async (cid, options) => (await open()).has(cid, options),
    readRange: async (cid, offset, length, options) => (await open()).readRange(cid, offset, length, options),
    stop,
  };
  return { store, open, stop };
}

async function writeStdout(source: AsyncIterable<Uint8Array>): Promise<void> {
  await pipeline(Readable.from(source), process.stdout, { end: false });
}

/** The metadata store the server uses: MongoDB when MONGODB_URL is set, else Redis. */
export async function withStore<T>(context: CliContext, config: Readonly<Pick<Config, 'mongodbUrl' | 'jobs'>>, fn: (store: SnapshotStore) => Promise<T>): Promise<T> {
  if (config.mongodbUrl) {
    const { createMongoSnapshotStore } = await import('../snapshots/store/mongo.ts');
    const store = await createMongoSnapshotStore({ url: config.mongodbUrl });
    try { return await fn(store); } finally { await store.close(); }
  }
  return context.withLedger(async (_ledger, redis) => {
    const [{ createRedisSnapshotStore }, { isCluster }] = await Promise.all([import('../snapshots/store/redis.ts'), import('../connections.ts')]);
    const ns = config.jobs.namespace;
    return fn(createRedisSnapshotStore({ redis, keyPrefix: isCluster(redis) ? `{${ns}:snap}:` : `${ns}:snap:` }));
  });
}

/** The store and the IPFS store of this machine, for the commands that read completed snapshots. */
async function withProducts<T>(context: CliContext, fn: (deps: { store: SnapshotStore; ipfs: IpfsStore }) => Promise<T>): Promise<T> {
  const config = snapshotConfig(context);
  return withStore(context, config, (store) => withIpfs(config.dataDir, (ipfs) => fn({ store, ipfs })));
}

/** Without a terminal (a log, CI) the bar prints one line this often instead of redrawing. */
const barLineEveryMsNoTty = 5_000;

/** What the bar shows beside the percentage: holders, pages, holders/s and an ETA (`timeLeft`: cli-progress owns `eta`). */
export function barPayload(status: Pick<SnapshotRunStatus, 'holders' | 'pages' | 'progress'>, elapsedMs: number): Record<string, string> {
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(status.holders / seconds) : 0;
  // The percentage grows about evenly with pages read (it follows the account-id space too), so
  // the time left is the time so far scaled by what is left of it.
  const etaSeconds = status.progress > 0 ? Math.ceil((seconds * (100 - status.progress)) / status.progress) : null;
  return { holders: String(status.holders), pages: String(status.pages), rate: String(rate), timeLeft: etaSeconds === null ? '?' : formatDuration(etaSeconds) };
}

function formatDuration(totalSeconds: number): string {
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

async function runSnapshotCommand(context: CliContext, tokenIdArgs: string[], options: SnapshotOptions): Promise<void> {
  const config = snapshotConfig(context, options);
  const { hedera } = config;
  const [{ validateTimestamp }, { createMirrorClient }, { runSnapshot }, { runCombination }] = await Promise.all([
    import('../snapshots/service.ts'), import('../snapshots/mirror/client.ts'), import('../snapshots/pipeline.ts'), import('../snapshots/combination.ts'),
  ]);
  const target = await snapshotTarget(tokenIdArgs, options, hedera.network);
  const { tokenId } = target;
  const requestedTimestamp = validateTimestamp(options.timestamp) ?? null;
  const mirror = createMirrorClient({
    baseUrl: hedera.mirrorNodeUrl, rps: hedera.mirrorRps, requestTimeoutMs: hedera.mirrorTimeoutMs,
    maxAttempts: hedera.mirrorAttempts, retryBaseDelayMs: hedera.mirrorRetryBaseMs, network: hedera.network,
  });
  // Also drawn (one line every few seconds, and at the end) when stderr is not a terminal, e.g. in a log.
  const bar = new cliProgress.SingleBar({ stream: process.stderr, hideCursor: false, noTTYOutput: true, notTTYSchedule: barLineEveryMsNoTty,
    format: `snapshot ${tokenId} [{bar}] {percentage}% | {holders} holders | {pages} pages | {rate} holders/s | ETA {timeLeft}` }, cliProgress.Presets.shades_classic);
  const startedMs = performance.now();
  let status: SnapshotRunStatus = { holders: 0, pages: 0, progress: 0 };
  // A failure to open the Helia store stops the snapshot at once (through `signal`) and is the error reported.
  const ipfs = lazyIpfs(config.dataDir);
  const openFailed = new AbortController();
  const startOpening = () => { ipfs.open().catch(() => openFailed.abort()); };
  try {
    const done = await withStore(context, config, async (store) => {
      const record = await store.create({ ...target, network: hedera.network, requestedTimestamp, requestedBy: context.env.USER ?? 'cli' });
      bar.start(100, 0, barPayload(status, 0));
      try {
        const deps = {
          store, mirror, ipfs: ipfs.store, network: hedera.network, workDir: join(config.dataDir, 'snapshots'), signal: openFailed.signal,
          onPage: (next: SnapshotRunStatus) => {
            if (status.pages === 0) startOpening();
            status = next;
            bar.update(next.progress, barPayload(next, performance.now() - startedMs));
          },
          onProgress: (progress: number) => { if (record.combination) bar.update(progress, barPayload({ ...status, progress }, performance.now() - startedMs)); },
        };
        const finished = await (record.combination ? runCombination({ ...record, combination: record.combination }, deps) : runSnapshot(record.snapshotId, deps)).catch(async (failure: Error & { code?: string }) => {
          const error: Error & { code?: string } = openFailed.signal.aborted ? await ipfs.open().then(() => failure, (cause: Error) => cause) : failure;
          await store.update(record.snapshotId, { status: 'failed', error: { code: error.code ?? 'SNAPSHOT_FAILED', message: error.message.slice(0, 500) } }).catch(() => {});
          throw error;
        });
        bar.update(100, { ...barPayload(status, performance.now() - startedMs), timeLeft: '0s' });
        return finished;
      } finally {
        bar.stop();
      }
    });
    context.print(JSON.stringify({ snapshotId: done.snapshotId, tokenId: done.tokenId, cid: done.cid, holders: done.holders,
      totalBalance: done.totalBalance, consensusTimestamp: done.consensusTimestamp }));
  } finally {
    await ipfs.stop();
    await mirror.close();
  }
}

/** `tally snapshot --ledger SYM [--at]`: one ledger snapshot in this process, into the configured store and DATA_DIR/ipfs. */
async function runLedgerSnapshotCommand(context: CliContext, symbol: string, at?: string): Promise<void> {
  const config = loadConfig(context.env, ['dataDir', 'mongodbUrl', 'jobs']);
  const [{ runLedgerSnapshot, ledgerNetwork }, { archiveOf }] = await Promise.all([import('../snapshots/ledger-snapshots.ts'), import('../http/ledger-history.ts')]);
  const ipfs = lazyIpfs(config.dataDir);
  try {
    const done = await context.withLedger((ledger) => withStore(context, config, async (store) => {
      // A trimmed log is replayed from its archived segments.
      const archive = archiveOf({ store, ipfs: ipfs.store });
      const eventId = await ledger.resolveAt(symbol, at, archive);
      const record = await store.create({ tokenId: symbol, network: ledgerNetwork, requestedTimestamp: eventId, requestedBy: context.env.USER ?? 'cli' });
      const history = { resolveAt: (s: string, a?: string) => ledger.resolveAt(s, a, archive), snapshotAt: (...args: Parameters<typeof ledger.snapshotAt>) => ledger.snapshotAt(args[0], args[1], args[2], args[3], archive) };
      return runLedgerSnapshot(record.snapshotId, { store, ipfs: ipfs.store, history }).catch(async (error: Error & { code?: string }) => {
        await store.update(record.snapshotId, { status: 'failed', error: { code: error.code ?? 'SNAPSHOT_FAILED', message: error.message.slice(0, 500) } }).catch(() => {});
        throw error;
      });
    }));
    context.print(JSON.stringify({ snapshotId: done.snapshotId, tokenId: done.tokenId, cid: done.cid, holders: done.holders,
      totalBalance: done.totalBalance, consensusTimestamp: done.consensusTimestamp }));
  } finally {
    await ipfs.stop();
  }
}

export function registerSnapshotCommands(program: Command, context: CliContext): void {
  program.command('snapshot')
    .description('snapshot every holder of a Hedera token (or a combination of tokens; or with --ledger, of a Tally token) into IPFS; prints {snapshotId, tokenId, cid, holders, totalBalance, consensusTimestamp}')
    .argument('[tokenId...]', 'Hedera token id, e.g. 0.0.1234 (a HIP-15 checksum is checked against the network); several with --combine')
    .option('--timestamp <T>', 'consensus timestamp seconds.nanoseconds (default: the latest balance snapshot)')
    .option('--mirror-url <URL>', 'mirror node base URL (default: MIRROR_NODE_URL, else the network\'s public one)')
    .option('--network <N>', 'mainnet, testnet or previewnet (default: HEDERA_NETWORK, else testnet)')
    .option('--filters <JSON>', 'filters as JSON: {"minBalance","exclude","minCount"}; with --combine, an object of them by token id')
    .option('--combine <mode>', 'all or any: one snapshot of the holders of every (all) or some (any) of the tokens, at one timestamp')
    .option('--ledger <SYM>', 'snapshot this Tally token from its log instead (docs/snapshot-format.md, Ledger snapshots)')
    .option('--at <at>', 'with --ledger: an event id or ISO 8601 time (default: the last event)')
    .action((tokenIds: string[], options: SnapshotOptions & { ledger?: string; at?: string }) => {
      if (options.ledger !== undefined) {
        if (tokenIds.length > 0 || options.timestamp !== undefined || options.filters !== undefined || options.combine !== undefined) {
          throw new UsageError('--ledger takes no tokenId, --timestamp, --filters or --combine (use --at)');
        }
        return runLedgerSnapshotCommand(context, options.ledger, options.at);
      }
      if (tokenIds.length === 0) throw new UsageError('give a Hedera tokenId, or --ledger SYM');
      if (options.at !== undefined) throw new UsageError('--at goes with --ledger (a Hedera snapshot takes --timestamp)');
      return runSnapshotCommand(context, tokenIds, options);
    });

  program.command('proof')
    .description('print the Merkle proof of one holder of a completed snapshot: {account, address, amount, proof}')
    .argument('<snapshotId>', 'the snapshotId a snapshot printed')
    .argument('<account>', 'a Hedera account id, e.g. 0.0.1234')
    .action((snapshotId: string, account: string) => withProducts(context, async (deps) => {
      const { proveHolder } = await import('../snapshots/products.ts');
      context.print(JSON.stringify(await proveHolder(deps, snapshotId, account)));
    }));

  program.command('diff')
    .description('the diff of two completed snapshots of one token as NDJSON on stdout (gained, lost, changed); its CID and counts on stderr')
    .argument('<from>', 'the earlier snapshotId')
    .argument('<to>', 'the later snapshotId')
    .action((from: string, to: string) => withProducts(context, async (deps) => {
      const { diffSnapshots } = await import('../snapshots/products.ts');
      const stored = await diffSnapshots(deps, from, to);
      await writeStdout(deps.ipfs.cat(stored.cid));
      process.stderr.write(`diff ${stored.cid}: ${stored.gained} gained, ${stored.lost} lost, ${stored.changed} changed\n`);
    }));

  program.command('cat')
    .description('write the bytes stored under a CID (in DATA_DIR/ipfs) to stdout')
    .argument('<cid>', 'the CID a snapshot printed')
    .action((cid: string) => withIpfs(loadConfig(context.env, ['dataDir']).dataDir, (ipfs) => writeStdout(ipfs.cat(cid))));

  program.command('car')
    .description('write the DAG of a CID as a CAR file to stdout, for pinning services (tally car <cid> > file.car)')
    .argument('<cid>', 'the CID a snapshot printed')
    .action((cid: string) => withIpfs(loadConfig(context.env, ['dataDir']).dataDir, (ipfs) => writeStdout(ipfs.exportCar(cid))));
}
