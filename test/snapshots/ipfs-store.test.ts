import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsDatastore } from 'datastore-fs';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { blockWriteConcurrency, chunkBytes, openIpfsStore, parseCid } from '../../src/snapshots/ipfs-store.ts';
import type { IpfsStore } from '../../src/snapshots/ipfs-store.ts';
import { encodeSnapshot } from '../../src/snapshots/snapshot-format.ts';
import type { Holder } from '../../src/snapshots/snapshot-format.ts';
import { ContentNotFoundError, InvalidCidError } from '../../src/snapshots/errors.ts';
import { sleep } from '../../testkit/wait.ts';

const header = {
  tokenId: '0.0.5005', network: 'testnet', timestamp: '1716885861.254421003', name: 'Large token',
  symbol: 'LRG', decimals: 8, totalSupply: '123456789012345678901234567890', type: 'FUNGIBLE_COMMON',
};

/** About 3.3 MiB of snapshot NDJSON (60,000 holders): several 1 MiB chunks, so a dag-pb root. */
function* holderBatches(): Generator<Holder[]> {
  for (let page = 0; page < 600; page++) {
    yield Array.from({ length: 100 }, (_, i) => ({
      account: `0.0.${1000 + page * 100 + i}`,
      balance: (2n ** 53n + BigInt(page * 100 + i) * 7919n).toString(),
    }));
  }
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Re-chunks bytes into pieces of `size` to show the CID does not depend on input chunking. */
function* rechunk(bytes: Buffer, size: number): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

function readVarint(bytes: Uint8Array): [value: number, length: number] {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    const byte = bytes[i] as number;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return [value, i + 1];
  }
  throw new Error('varint too long');
}

describe('ipfs store', function () {
  this.timeout(20_000);
  const dirs: string[] = [];
  const stores: IpfsStore[] = [];
  let snapshotBytes: Buffer;

  async function open(dir?: string): Promise<{ store: IpfsStore; dir: string }> {
    const where = dir ?? (await mkdtemp(join(tmpdir(), 'tally-ipfs-')));
    if (dir === undefined) dirs.push(where);
    const store = await openIpfsStore({ dir: where });
    stores.push(store);
    return { store, dir: where };
  }

  before(async () => {
    snapshotBytes = await collect(encodeSnapshot(header, holderBatches()));
    expect(snapshotBytes.length).to.be.greaterThan(3 * chunkBytes);
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.stop()));
  });

  after(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('gives the same CID for the same bytes in two separate stores, however the input is chunked', async () => {
    const { store: first } = await open();
    const { store: second } = await open();
    const a = await first.addBytes(encodeSnapshot(header, holderBatches()));
    const b = await second.addBytes(rechunk(snapshotBytes, 65_537));
    expect(a).to.deep.equal(b);
    expect(a.bytes).to.equal(snapshotBytes.length);
    const cid = CID.parse(a.cid);
    expect(cid.version).to.equal(1);
    expect(cid.code).to.equal(0x70, 'a multi-chunk file has a dag-pb root');
  });

  it('stores a small file as one raw block: CIDv1 raw codec over the sha2-256 of the bytes', async () => {
    const { store } = await open();
    const bytes = Buffer.from('{"tokenId":"0.0.1"}\n');
    const { cid } = await store.addBytes([bytes]);
    const expected = CID.createV1(0x55, Digest.create(0x12, createHash('sha256').update(bytes).digest()));
    expect(cid).to.equal(expected.toString());
  });

  it('cat returns exactly the bytes added, also after a restart', async () => {
    const { store, dir } = await open();
    const { cid } = await store.addBytes(rechunk(snapshotBytes, 4096));
    expect((await collect(store.cat(cid))).equals(snapshotBytes)).to.equal(true);
    await store.stop();
    stores.splice(stores.indexOf(store), 1);
    const { store: reopened } = await open(dir);
    expect(await reopened.has(cid)).to.equal(true);
    expect((await collect(reopened.cat(cid))).equals(snapshotBytes)).to.equal(true);
  });

  it('pins every block of the DAG, the raw leaves too (checked present, not read)', async () => {
    const { store, dir } = await open();
    await store.addBytes(rechunk(snapshotBytes, 65_536));
    await store.stop();
    stores.splice(stores.indexOf(store), 1);
    const blockFiles = (await readdir(join(dir, 'blocks'), { recursive: true })).filter((f) => f.endsWith('.data'));
    expect(blockFiles.length).to.equal(Math.ceil(snapshotBytes.length / chunkBytes) + 1); // the leaves and one dag-pb root
    const datastore = new FsDatastore(join(dir, 'datastore'));
    await datastore.open();
    let pinnedBlocks = 0;
    for await (const _entry of datastore.query({ prefix: '/pinned-block/' })) pinnedBlocks += 1;
    await datastore.close();
    expect(pinnedBlocks).to.equal(blockFiles.length);
  });

  it('adding the same bytes twice is harmless (already pinned)', async () => {
    const { store } = await open();
    const first = await store.addBytes([Buffer.from('same\n')]);
    const second = await store.addBytes([Buffer.from('same\n')]);
    expect(second).to.deep.equal(first);
  });

  it('streams: blocks reach the disk before the source ends (memory bounded by the write batch)', async () => {
    const { store, dir } = await open();
    const pieceBytes = 256 * 1024;
    const totalBytes = (blockWriteConcurrency + 4) * chunkBytes;
    let blocksSeenBeforeEnd = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let offset = 0; offset < totalBytes; offset += pieceBytes) yield new Uint8Array(pieceBytes).fill(offset / pieceBytes);
      await sleep(50);
      blocksSeenBeforeEnd = (await readdir(join(dir, 'blocks'), { recursive: true })).filter((f) => f.endsWith('.data')).length;
    }
    const { bytes } = await store.addBytes(source());
    expect(bytes).to.equal(totalBytes);
    // The importer writes chunks in batches of blockWriteConcurrency: the first batch is on disk already.
    expect(blocksSeenBeforeEnd).to.be.at.least(blockWriteConcurrency);
  });

  it('exports a CAR that starts with a valid CARv1 header naming the root', async () => {
    const { store } = await open();
    const { cid } = await store.addBytes(rechunk(snapshotBytes, chunkBytes));
    const carBytes = await collect(store.exportCar(cid));
    expect(carBytes.length).to.be.greaterThan(snapshotBytes.length);
    const [headerLength, varintLength] = readVarint(carBytes);
    const headerBytes = carBytes.subarray(varintLength, varintLength + headerLength);
    // dag-cbor {roots: [CID], version: 1}: a 2-entry map, "version" then 1, the root as tag 42.
    expect(headerBytes[0]).to.equal(0xa2);
    expect(headerBytes.includes(Buffer.concat([Buffer.from([0x67]), Buffer.from('version'), Buffer.from([0x01])]))).to.equal(true);
    expect(headerBytes.includes(Buffer.concat([Buffer.from([0x65]), Buffer.from('roots'), Buffer.from([0x81, 0xd8, 0x2a])]))).to.equal(true);
    expect(headerBytes.includes(Buffer.concat([Buffer.from([0x00]), Buffer.from(CID.parse(cid).bytes)]))).to.equal(true);
  });

  it('rejects malformed CIDs with a typed error before any work', async () => {
    const { store } = await open();
    for (const bad of ['', 'not-a-cid', 'bafy', 'Qm123', `b${'a'.repeat(300)}`, 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy']) {
      expect(() => store.cat(bad), bad).to.throw(InvalidCidError);
      expect(() => store.exportCar(bad), bad).to.throw(InvalidCidError);
      let hasError: unknown = null;
      await store.has(bad).catch((error) => { hasError = error; });
      expect(hasError, bad).to.be.instanceOf(InvalidCidError);
    }
    expect(() => parseCid(42 as unknown as string)).to.throw(InvalidCidError);
  });

  it('reports a well-formed CID that is not stored as ContentNotFoundError, without going online', async () => {
    const { store } = await open();
    const missing = 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e';
    expect(await store.has(missing)).to.equal(false);
    let error: unknown = null;
    try {
      await collect(store.cat(missing));
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(ContentNotFoundError);
  });
});
