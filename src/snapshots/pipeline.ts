// One snapshot, start to finish: token info -> balance pages at one pinned timestamp -> NDJSON on
// disk (appended, fsynced at checkpoints) -> the IPFS importer (streamed from disk) -> the
// metadata record. Memory stays bounded by one page: holders never sit in memory whole.
//
// Resuming: the timestamp is pinned in the first checkpoint, and every checkpoint records the
// last account written and the byte length of the partial file at that point, after an fsync.
// A run that finds a checkpoint truncates the partial file to that length and reads on after
// that account, so a resumed run writes the same bytes, hence the same CID, as an uninterrupted
// one. When the partial file is missing (another machine, a wiped disk) the run starts over.
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotError } from './errors.ts';
import type { HederaNetwork } from './hedera-ids.ts';
import type { IpfsStore } from './ipfs-store.ts';
import type { MirrorClient, HederaTokenInfo } from './mirror/client.ts';
import type { SnapshotCheckpoint, SnapshotRecord, SnapshotStore } from './store/metadata-store.ts';
import { headerLine, holderLine } from './snapshot-format.ts';

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
  /** Called when the progress percentage grows past the record's (0..99 while running). */
  onProgress?: (progress: number) => void | Promise<void>;
  signal?: AbortSignal;
  checkpointEveryPages?: number;
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

function header(token: HederaTokenInfo, network: HederaNetwork | null, timestamp: string): string {
  return headerLine({ tokenId: token.tokenId, network, timestamp, name: token.name, symbol: token.symbol,
    decimals: token.decimals, totalSupply: token.totalSupply, type: token.type });
}

/** Runs (or resumes) the snapshot; returns the completed record. Throws on failure. */
export async function runSnapshot(snapshotId: string, deps: PipelineDeps): Promise<SnapshotRecord> {
  const { store, mirror, signal } = deps;
  const record = await store.get(snapshotId);
  if (!record) throw new Error(`snapshot ${snapshotId} does not exist`);
  if (record.status === 'completed') return record;
  await store.update(snapshotId, { status: 'running', attempts: record.attempts + 1, error: null });

  const token = await mirror.getToken(record.tokenId, { signal });
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
    await fetchHolders(snapshotId, deps, token, file, p, record.progress);
    await file.datasync();
  } finally {
    await file.close();
  }
  const stored = await deps.ipfs.addBytes(createReadStream(path, { highWaterMark: 1024 * 1024 }), { signal });
  if (stored.bytes !== p.bytesWritten) {
    throw new Error(`IPFS stored ${stored.bytes} bytes of a ${p.bytesWritten}-byte snapshot`);
  }
  const done = await store.update(snapshotId, {
    status: 'completed', progress: 100, cid: stored.cid, bytes: stored.bytes, holders: p.holders,
    totalBalance: p.totalBalance.toString(), consensusTimestamp: p.consensusTimestamp ?? p.pinnedTimestamp,
  });
  await rm(path, { force: true });
  return done;
}

/** `reported`: the progress already recorded; a resumed run never reports less (no going back). */
async function fetchHolders(snapshotId: string, deps: PipelineDeps, token: HederaTokenInfo, file: FileHandle, p: Progress, reported: number): Promise<void> {
  const every = deps.checkpointEveryPages ?? checkpointEveryPages;
  const supply = BigInt(token.totalSupply);
  let lastProgress = reported;
  let pagesSinceCheckpoint = 0;
  const pages = deps.mirror.balancePages(token.tokenId, p.pinnedTimestamp, {
    ...(p.afterAccount ? { afterAccount: p.afterAccount } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  for await (const page of pages) {
    if (p.bytesWritten === 0) {
      // The header carries the timestamp the balances are from, so requests that land on the
      // same mirror-node balance snapshot produce the same bytes.
      p.consensusTimestamp = page.timestamp ?? p.pinnedTimestamp;
      await write(file, header(token, deps.network, p.consensusTimestamp), p);
      await deps.store.update(snapshotId, { consensusTimestamp: p.consensusTimestamp });
    }
    if (page.holders.length === 0) continue;
    await write(file, page.holders.map(holderLine).join(''), p);
    p.holders += page.holders.length;
    for (const holder of page.holders) p.totalBalance += BigInt(holder.balance);
    p.afterAccount = page.lastAccount;
    if (++pagesSinceCheckpoint >= every) {
      await file.datasync();
      await saveCheckpoint(deps.store, snapshotId, p);
      pagesSinceCheckpoint = 0;
    }
    const progress = supply > 0n ? Math.min(progressRunningMax, Number((p.totalBalance * 100n) / supply)) : 0;
    if (progress > lastProgress) {
      lastProgress = progress;
      await deps.store.update(snapshotId, { progress });
      await deps.onProgress?.(progress);
    }
  }
  if (p.bytesWritten === 0) {
    p.consensusTimestamp = p.pinnedTimestamp;
    await write(file, header(token, deps.network, p.pinnedTimestamp), p);
  }
}
