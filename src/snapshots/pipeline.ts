// One snapshot, start to finish: token info and balance pages at one pinned timestamp -> NDJSON on
// disk (appended, fsynced at checkpoints) -> the IPFS importer (streamed from disk) -> the
// metadata record. Memory stays bounded by one page: holders never sit in memory whole.
//
// Resuming: the timestamp is pinned in the first checkpoint, and every checkpoint records the
// last account written and the byte length of the partial file at that point, after an fsync.
// A run that finds a checkpoint truncates the partial file to that length and reads on after
// that account, so a resumed run writes the same bytes, hence the same CID, as an uninterrupted
// one. When the partial file is missing (another machine, a wiped disk) the run starts over.
//
// Fidelity: the header's token info (name, decimals, totalSupply) is read at the consensus
// timestamp the balances come from (`/tokens/{id}?timestamp=`), never today's token, and is also
// the progress denominator; a resumed run insists on its checkpoint's balance snapshot
// (MirrorSnapshotChangedError otherwise), so one file never mixes two snapshots.
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { MirrorProtocolError, SnapshotError } from './errors.ts';
import { amountMax } from '../identifiers.ts';
import { parseEntityId } from './hedera-ids.ts';
import type { HederaNetwork } from './hedera-ids.ts';
import type { IpfsStore } from './ipfs-store.ts';
import type { MirrorClient, HederaTokenInfo } from './mirror/client.ts';
import type { MerkleSummary, SnapshotCheckpoint, SnapshotFilters, SnapshotRecord, SnapshotStore } from './store/metadata-store.ts';
import { headerLine, holderLine, nftHolderLine, readSnapshot, type HeaderFilters, type Holder } from './snapshot-format.ts';
import { collectNftHolders } from './nft-holders.ts';
import { buildMerkleTree } from './merkle.ts';
import { applyFilters, nftType, type AppliedFilters } from './filters.ts';

/** Pages between two checkpoints (100 holders each): a crash repeats at most this many. */
export const checkpointEveryPages = 20;
/** Progress stays below 100 until the file is stored. */
const progressRunningMax = 99;

export interface PipelineDeps {
  store: SnapshotStore;
  mirror: MirrorClient;
  ipfs: IpfsStore;
  /** Where partial files live (DATA_DIR/snapshots). */
  workDir: string;
  network: HederaNetwork | null;
  /** Called when the progress percentage grows past the record's (0..99 while running), with the holders written so far. */
  onProgress?: (progress: number, holders?: number) => void | Promise<void>;
  /** Called after every balances page (a progress bar's holders, pages and rate). */
  onPage?: (status: SnapshotRunStatus) => void;
  signal?: AbortSignal;
  checkpointEveryPages?: number;
}

export interface SnapshotRunStatus {
  /** Holders written so far, those before a checkpoint included. */
  holders: number;
  /** Balances pages read by this attempt. */
  pages: number;
  /** The percentage as reported (0..99 while running; never less than before). */
  progress: number;
}

/** A failure that no retry can fix (unknown token, malformed id, a refused request). */
export function isPermanentFailure(error: unknown): boolean {
  return error instanceof SnapshotError && !error.retryable;
}

interface Progress {
  afterAccount: string | null;
  holders: number;
  totalBalance: bigint;
  bytesWritten: number;
  /** The timestamp asked of the mirror node (requested, or the latest at the first start). */
  pinnedTimestamp: string;
  /** The timestamp the mirror node answered from; null until the first non-empty page. */
  consensusTimestamp: string | null;
}

function progressFromCheckpoint(checkpoint: SnapshotCheckpoint): Progress | null {
  const pinned = checkpoint.extra?.pinnedTimestamp;
  if (typeof pinned !== 'string') return null;
  return {
    afterAccount: checkpoint.afterAccount,
    holders: checkpoint.holders,
    totalBalance: BigInt(checkpoint.totalBalance),
    bytesWritten: checkpoint.bytesWritten ?? 0,
    pinnedTimestamp: pinned,
    consensusTimestamp: checkpoint.consensusTimestamp ?? null,
  };
}

async function saveCheckpoint(store: SnapshotStore, snapshotId: string, p: Progress): Promise<void> {
  await store.saveCheckpoint(snapshotId, {
    afterAccount: p.afterAccount,
    holders: p.holders,
    totalBalance: p.totalBalance.toString(),
    bytesWritten: p.bytesWritten,
    ...(p.consensusTimestamp ? { consensusTimestamp: p.consensusTimestamp } : {}),
    extra: { pinnedTimestamp: p.pinnedTimestamp },
  });
}

/** Opens the partial file positioned for `progress`, or null when it cannot resume from it. */
async function openPartial(path: string, progress: Progress): Promise<FileHandle | null> {
  const size = await stat(path).then((s) => s.size, () => -1);
  if (size < progress.bytesWritten) return null;
  const file = await open(path, 'r+');
  await file.truncate(progress.bytesWritten);
  return file;
}

async function write(file: FileHandle, text: string, p: Progress): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  await file.write(bytes, 0, bytes.length, p.bytesWritten);
  p.bytesWritten += bytes.length;
}

function header(token: HederaTokenInfo, network: HederaNetwork | null, timestamp: string, filters: HeaderFilters | undefined): string {
  return headerLine({ tokenId: token.tokenId, network, timestamp, name: token.name, symbol: token.symbol,
    decimals: token.decimals, totalSupply: token.totalSupply, type: token.type, ...(filters ? { filters } : {}) });
}

/** Runs (or resumes) the snapshot; returns the completed record. Throws on failure. */
export async function runSnapshot(snapshotId: string, deps: PipelineDeps): Promise<SnapshotRecord> {
  const { store, mirror, signal } = deps;
  const record = await store.get(snapshotId);
  if (!record) throw new Error(`snapshot ${snapshotId} does not exist`);
  if (record.status === 'completed') return record;
  await store.update(snapshotId, { status: 'running', attempts: record.attempts + 1, error: null });

  const checkpoint = await store.getCheckpoint(snapshotId);
  let p = checkpoint ? progressFromCheckpoint(checkpoint) : null;
  const path = join(deps.workDir, `${snapshotId}.ndjson`);
  await mkdir(deps.workDir, { recursive: true });
  let file = p ? await openPartial(path, p) : null;
  if (!file || !p) {
    const pinnedTimestamp = p?.pinnedTimestamp ?? record.requestedTimestamp ?? await mirror.latestTimestamp({ signal });
    p = { afterAccount: null, holders: 0, totalBalance: 0n, bytesWritten: 0, pinnedTimestamp, consensusTimestamp: null };
    file = await open(path, 'w+');
    await saveCheckpoint(store, snapshotId, p); // pins the timestamp for every later attempt
  }

  try {
    // A resumed run knows the snapshot its rows come from; a fresh one asks at the pinned
    // timestamp, and again at the answered one should the balances come from an earlier snapshot.
    const token = await mirror.getToken(record.tokenId, { signal, timestamp: p.consensusTimestamp ?? p.pinnedTimestamp });
    const highestAccount = await mirror.highestAccount({ signal }).catch((error: unknown) => {
      if (signal?.aborted) throw error;
      return null; // progress then follows the supply share alone
    });
    const run = { token, highestAccount, filters: record.filters };
    if (token.type === nftType) await writeNftHolders(snapshotId, deps, run, file, p, record);
    else await fetchHolders(snapshotId, deps, run, file, p, record.progress);
    await file.datasync();
  } finally {
    await file.close();
  }
  const stored = await deps.ipfs.addBytes(createReadStream(path, { highWaterMark: 1024 * 1024 }), { signal });
  if (stored.bytes !== p.bytesWritten) {
    throw new Error(`IPFS stored ${stored.bytes} bytes of a ${p.bytesWritten}-byte snapshot`);
  }
  const merkle = await storeMerkleTree(deps, () => fileHolders(path), p.holders);
  const done = await store.update(snapshotId, {
    status: 'completed', progress: 100, cid: stored.cid, bytes: stored.bytes, holders: p.holders,
    totalBalance: p.totalBalance.toString(), consensusTimestamp: p.consensusTimestamp ?? p.pinnedTimestamp, merkle,
  });
  await rm(path, { force: true });
  return done;
}

async function* fileHolders(path: string): AsyncGenerator<Holder> {
  const { holders } = await readSnapshot(createReadStream(path, { highWaterMark: 1024 * 1024 }));
  yield* holders;
}

/** Builds the holders' Merkle tree and stores its dump on IPFS; null without holders. */
export async function storeMerkleTree(deps: Pick<PipelineDeps, 'ipfs' | 'signal'>, holders: () => AsyncIterable<Holder>, count: number): Promise<MerkleSummary | null> {
  const tree = await buildMerkleTree(holders, count);
  if (tree === null) return null;
  const stored = await deps.ipfs.addBytes(tree.dump({ reuseChunks: true }), { signal: deps.signal }); // addBytes copies each chunk
  return { root: tree.root, treeCid: stored.cid, leaves: tree.leaves, bytes: stored.bytes };
}

interface RunContext {
  /** The token at the timestamp of the balances: the header and the progress denominator. */
  token: HederaTokenInfo;
  /** The highest account id on the network; null when the mirror node did not say. */
  highestAccount: string | null;
  /** The record's filters, applied to the token of the header. */
  filters: SnapshotFilters | null;
}

/** `reported`: the progress already recorded; a resumed run never reports less (no going back). */
async function fetchHolders(snapshotId: string, deps: PipelineDeps, run: RunContext, file: FileHandle, p: Progress, reported: number): Promise<void> {
  const every = deps.checkpointEveryPages ?? checkpointEveryPages;
  let lastProgress = reported;
  let pagesSinceCheckpoint = 0;
  let pagesRead = 0;
  const pages = deps.mirror.balancePages(run.token.tokenId, p.pinnedTimestamp, {
    ...(p.afterAccount ? { afterAccount: p.afterAccount } : {}),
    ...(p.bytesWritten > 0 && p.consensusTimestamp ? { expectedTimestamp: p.consensusTimestamp } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  for await (const page of pages) {
    pagesRead += 1;
    if (p.bytesWritten === 0) await writeHeader(snapshotId, deps, run, file, p, page.timestamp ?? p.pinnedTimestamp);
    if (page.holders.length > 0) {
      const kept = page.holders.filter(applied(run).keep);
      await write(file, kept.map(holderLine).join(''), p);
      p.holders += kept.length;
      for (const holder of kept) p.totalBalance += BigInt(holder.balance);
      if (p.totalBalance > amountMax) throw new MirrorProtocolError(`the balances of token ${run.token.tokenId} add up to more than 2^256 - 1`);
      p.afterAccount = page.lastAccount;
      if (++pagesSinceCheckpoint >= every) {
        await file.datasync();
        await saveCheckpoint(deps.store, snapshotId, p);
        pagesSinceCheckpoint = 0;
      }
      const progress = runningProgress({ totalBalance: p.totalBalance, totalSupply: BigInt(run.token.totalSupply), lastAccount: p.afterAccount, highestAccount: run.highestAccount });
      if (progress > lastProgress) {
        lastProgress = progress;
        await deps.store.update(snapshotId, { progress });
        await deps.onProgress?.(progress, p.holders);
      }
    }
    deps.onPage?.({ holders: p.holders, pages: pagesRead, progress: lastProgress });
  }
  if (p.bytesWritten === 0) await writeHeader(snapshotId, deps, run, file, p, p.pinnedTimestamp);
}

/**
 * An NFT snapshot (nft-holders.ts): the serials are listed whole, then checked against the
 * balances at one timestamp, so the holders sit in memory (bounded by nftSerialsMax) and a
 * crashed run starts over rather than resume. Progress is the share of the supply listed.
 */
async function writeNftHolders(snapshotId: string, deps: PipelineDeps, run: RunContext, file: FileHandle, p: Progress, record: SnapshotRecord): Promise<void> {
  await file.truncate(0);
  Object.assign(p, { afterAccount: null, holders: 0, totalBalance: 0n, bytesWritten: 0, consensusTimestamp: null });
  const supply = BigInt(run.token.totalSupply);
  let lastProgress = record.progress;
  const nft = await collectNftHolders(deps.mirror, run.token.tokenId, {
    ...(record.requestedTimestamp ? { timestamp: record.requestedTimestamp } : {}), ...(deps.signal ? { signal: deps.signal } : {}),
    onListed: async (listed) => {
      const progress = supply > 0n ? Math.min(progressRunningMax, Number((BigInt(listed) * 100n) / supply)) : 0;
      deps.onPage?.({ holders: listed, pages: 0, progress: Math.max(progress, lastProgress) });
      if (progress <= lastProgress) return;
      lastProgress = progress;
      await deps.store.update(snapshotId, { progress });
      await deps.onProgress?.(progress, listed);
    },
  });
  await writeHeader(snapshotId, deps, run, file, p, nft.timestamp);
  const kept = nft.holders.filter(applied(run).keep);
  for (let i = 0; i < kept.length; i += checkpointEveryPages * 100) {
    await write(file, kept.slice(i, i + checkpointEveryPages * 100).map((h) => nftHolderLine(h, h.serials)).join(''), p);
  }
  p.holders = kept.length;
  p.totalBalance = kept.reduce((sum, h) => sum + BigInt(h.balance), 0n);
}

/** The filters over the token of the header (the treasury it names then); checked before any row is written. */
function applied(run: RunContext): AppliedFilters {
  return applyFilters(run.filters, run.token);
}

/**
 * Line 1, from the token as it was at `consensusTimestamp`, the balance snapshot the rows come
 * from: requests that land on the same snapshot write the same bytes whatever happened to the
 * token since (a mint, a rename). Replaces `run.token` when it was read at another timestamp.
 */
async function writeHeader(snapshotId: string, deps: PipelineDeps, run: RunContext, file: FileHandle, p: Progress, consensusTimestamp: string): Promise<void> {
  if (consensusTimestamp !== p.pinnedTimestamp) {
    run.token = await deps.mirror.getToken(run.token.tokenId, { timestamp: consensusTimestamp, ...(deps.signal ? { signal: deps.signal } : {}) });
  }
  p.consensusTimestamp = consensusTimestamp;
  await write(file, header(run.token, deps.network, consensusTimestamp, applied(run).header), p);
  await deps.store.update(snapshotId, { consensusTimestamp });
}

/**
 * The running percentage (0..99): the mean of the share of the supply fetched and the share of
 * the account-id space passed (holders arrive in account order). Either alone misleads: with one
 * holder owning most of the supply the supply share says 99% after a page; with the holders packed
 * at high ids the id share does. (shard, realm, num) reads as one number; on Hedera today every
 * account is 0.0.N. A share that cannot be known (supply 0, no highest account) is left out.
 */
export function runningProgress(input: { totalBalance: bigint; totalSupply: bigint; lastAccount: string | null; highestAccount: string | null }): number {
  const basisPoints = 10_000n;
  const shares: bigint[] = [];
  if (input.totalSupply > 0n) shares.push(min(basisPoints, (input.totalBalance * basisPoints) / input.totalSupply));
  if (input.highestAccount !== null) {
    const highest = accountPosition(input.highestAccount);
    const last = input.lastAccount === null ? 0n : accountPosition(input.lastAccount);
    if (highest > 0n) shares.push(min(basisPoints, (last * basisPoints) / highest));
  }
  if (shares.length === 0) return 0;
  const mean = shares.reduce((sum, share) => sum + share, 0n) / BigInt(shares.length);
  return Math.min(progressRunningMax, Number(mean / 100n));
}

function accountPosition(account: string): bigint {
  const { shard, realm, num } = parseEntityId(account);
  return (shard << 128n) | (realm << 64n) | num;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
