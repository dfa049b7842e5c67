// Content-addressed snapshot storage: an embedded, offline Helia node with its blocks and
// datastore on disk. Every DAG parameter that shapes a CID is pinned here (CIDv1, raw
// leaves, fixed 1 MiB chunks, balanced layout of 1024 links) rather than left to library
// defaults, so the same bytes give the same CID in any process and any future version
// (docs/snapshot-format.md). Bytes stream in and out: nothing holds a whole snapshot in memory.

import { join } from 'node:path';
import { car } from '@helia/car';
import { unixfs } from '@helia/unixfs';
import { FsBlockstore } from 'blockstore-fs';
import { FsDatastore } from 'datastore-fs';
import { createHeliaLight } from 'helia';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { createUnsafe } from 'multiformats/block';
import { CID } from 'multiformats/cid';
import { ContentNotFoundError, InvalidCidError } from './errors.ts';

export const chunkBytes = 1_048_576;
export const dagLinksPerNodeMax = 1024;
/** Blocks hashed and written at once: bounds import memory to about this many chunks. */
export const blockWriteConcurrency = 8;
/** Range reads go through aligned windows of this size, the last ones kept in memory. */
export const readWindowBytes = 64 * 1024;
export const readWindowsCached = 128;
/** A CID string is about 60 characters; anything much longer is junk. */
export const cidCharsMax = 200;

const rawCodec = 0x55;
const dagPbCodec = 0x70;

// Chunker and layout are stateless functions: one instance serves every import.
const importOptions = {
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize: chunkBytes }),
  layout: balanced({ maxChildrenPerNode: dagLinksPerNodeMax }),
  blockWriteConcurrency,
} as const;

export interface IpfsStoreOptions {
  /** Directory for blocks and datastore (created when missing), e.g. data/ipfs. */
  dir: string;
}

export interface AbortOptions {
  signal?: AbortSignal;
}

export interface IpfsStore {
  /**
   * Stores the bytes as one UnixFS file, pins it, and returns its CID and size. Each chunk of the
   * source is copied before the next one is pulled: a source may reuse its buffers.
   */
  addBytes(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options?: AbortOptions): Promise<{ cid: string; bytes: number }>;
  /**
   * The stored bytes. Throws InvalidCidError at once for a malformed CID; ContentNotFoundError
   * surfaces on the first iteration (pull one chunk before committing to a response).
   */
  cat(cid: string, options?: AbortOptions): AsyncIterable<Uint8Array>;
  /**
   * `length` bytes at `offset` (fewer at the end), through a small cache of aligned windows
   * (readWindowsCached x readWindowBytes): many small reads of one file cost few block reads.
   */
  readRange(cid: string, offset: number, length: number, options?: AbortOptions): Promise<Buffer>;
  /** The CID's DAG as a CARv1 stream (what pinning services import). Same errors as cat. */
  exportCar(cid: string, options?: AbortOptions): AsyncIterable<Uint8Array>;
  has(cid: string, options?: AbortOptions): Promise<boolean>;
  stop(): Promise<void>;
}

/** Parses a UnixFS CID string (raw or dag-pb), or throws InvalidCidError. */
export function parseCid(text: string): CID {
  if (typeof text !== 'string' || text.length === 0 || text.length > cidCharsMax) throw new InvalidCidError(String(text));
  let cid: CID;
  try {
    cid = CID.parse(text);
  } catch (error) {
    throw new InvalidCidError(text, { cause: error });
  }
  if (cid.code !== rawCodec && cid.code !== dagPbCodec) throw new InvalidCidError(text);
  return cid;
}

export async function openIpfsStore(options: IpfsStoreOptions): Promise<IpfsStore> {
  const blockstore = new FsBlockstore(join(options.dir, 'blocks'));
  const datastore = new FsDatastore(join(options.dir, 'datastore'));
  await blockstore.open();
  await datastore.open();
  // createHeliaLight never starts libp2p or dials out; createHelia would join the public network.
  const helia = createHeliaLight({ blockstore, datastore });
  await helia.start();
  const fs = unixfs(helia);
  const cars = car(helia);

  async function requireLocal(cid: CID, options: AbortOptions): Promise<void> {
    if (!(await helia.blockstore.has(cid, options))) throw new ContentNotFoundError(cid.toString());
  }

  // Content is immutable, so a window never goes stale; a Map in insertion order is the LRU.
  const windows = new Map<string, Promise<Buffer>>();
  function readWindow(cid: CID, index: number, options: AbortOptions): Promise<Buffer> {
    const key = `${cid.toString()}:${index}`;
    const cached = windows.get(key);
    if (cached !== undefined) { windows.delete(key); windows.set(key, cached); return cached; }
    const loading = (async () => {
      await requireLocal(cid, options);
      const chunks: Uint8Array[] = [];
      for await (const chunk of fs.cat(cid, { offline: true, offset: index * readWindowBytes, length: readWindowBytes, signal: options.signal })) chunks.push(chunk);
      return Buffer.concat(chunks);
    })();
    loading.catch(() => windows.delete(key));
    windows.set(key, loading);
    if (windows.size > readWindowsCached) windows.delete(windows.keys().next().value!);
    return loading;
  }

  return {
    async addBytes(source, addOptions = {}) {
      const counter = { bytes: 0 };
      const cid = await fs.addByteStream(countBytes(source, counter), { ...importOptions, signal: addOptions.signal });
      await pin(helia, cid, addOptions);
      return { cid: cid.toString(), bytes: counter.bytes };
    },
    cat(text, catOptions = {}) {
      const cid = parseCid(text);
      return (async function* () {
        await requireLocal(cid, catOptions);
        yield* fs.cat(cid, { offline: true, signal: catOptions.signal });
      })();
    },
    async readRange(text, offset, length, readOptions = {}) {
      const cid = parseCid(text);
      if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) throw new RangeError('offset and length must be integers >= 0');
      const parts: Buffer[] = [];
      for (let index = Math.floor(offset / readWindowBytes); index * readWindowBytes < offset + length; index++) {
        const window = await readWindow(cid, index, readOptions);
        const from = Math.max(0, offset - index * readWindowBytes);
        parts.push(window.subarray(from, Math.min(window.length, offset + length - index * readWindowBytes)));
        if (window.length < readWindowBytes) break; // the end of the file
      }
      return Buffer.concat(parts);
    },
    exportCar(text, exportOptions = {}) {
      const cid = parseCid(text);
      return (async function* () {
        await requireLocal(cid, exportOptions);
        yield* cars.export(cid, { offline: true, signal: exportOptions.signal });
      })();
    },
    async has(text, hasOptions = {}) {
      return helia.blockstore.has(parseCid(text), hasOptions);
    },
    async stop() {
      await helia.stop();
      await blockstore.close();
      await datastore.close();
    },
  };
}

/**
 * Counts the bytes and copies them into fresh blocks of exactly chunkBytes, the leaves the
 * importer stores (the same blocks, hence the same CID, whatever the source's chunking). Each
 * source chunk is copied before the next is pulled, so a source may reuse a chunk's memory then.
 */
async function* countBytes(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  counter: { bytes: number },
): AsyncGenerator<Uint8Array> {
  let block = Buffer.allocUnsafe(chunkBytes);
  let filled = 0;
  for await (const chunk of source) {
    counter.bytes += chunk.byteLength;
    for (let offset = 0; offset < chunk.byteLength;) {
      const n = Math.min(chunkBytes - filled, chunk.byteLength - offset);
      block.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === chunkBytes) {
        yield block;
        block = Buffer.allocUnsafe(chunkBytes);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield block.subarray(0, filled);
}

type PinWalkerFactory = NonNullable<NonNullable<Parameters<ReturnType<typeof createHeliaLight>['pins']['add']>[1]>['walker']>;
const noBytes = new Uint8Array(0);

/**
 * The DAG walk a pin makes, reading only the inner (dag-pb) nodes for their links: a raw leaf has
 * no links, so it is only checked to be present, never read. Helia's own walker reads every
 * block, which for a 223 MB Merkle dump meant 223 reads of 1 MiB and about 100 MB more peak
 * RSS awaiting collection. The nodes a pin records are the same (every block of the DAG).
 */
const leafSparingWalker: PinWalkerFactory = ({ blockstore, getCodec }) => ({
  async *walk(root, options = {}) {
    const depthMax = options.depth ?? Infinity;
    const pending = [{ cid: root, depth: 0, path: [root] }];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const { cid, depth, path } = next;
      const codec = await getCodec(cid.code);
      if (cid.code === rawCodec) {
        if (!(await blockstore.has(cid, options))) throw new ContentNotFoundError(cid.toString());
        yield { block: createUnsafe({ cid, bytes: noBytes, codec }), depth, path };
        continue;
      }
      const chunks: Uint8Array[] = [];
      for await (const chunk of blockstore.get(cid, options)) chunks.push(chunk);
      const block = createUnsafe({ cid, bytes: Buffer.concat(chunks), codec });
      if (depth < depthMax) {
        for (const [, link] of block.links()) pending.push({ cid: link, depth: depth + 1, path: [...path, link] });
      }
      yield { block, depth, path };
    }
  },
});

/**
 * Pins what was just added (never a CID whose blocks may be missing: that crashes the
 * process, PITFALLS.md). pins.add is a lazy generator: it pins only when iterated.
 */
async function pin(helia: ReturnType<typeof createHeliaLight>, cid: CID, options: AbortOptions): Promise<void> {
  if (await helia.pins.isPinned(cid, options)) return;
  try {
    for await (const _block of helia.pins.add(cid, { ...options, walker: leafSparingWalker })) {
      // Each yielded CID is a block now pinned.
    }
  } catch (error) {
    // Two concurrent adds of the same bytes: the other one pinned it first.
    if ((error as Error).name !== 'AlreadyPinnedError') throw error;
  }
}
