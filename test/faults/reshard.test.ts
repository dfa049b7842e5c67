// A token's slot moves between masters under load: a 3-master cluster with AOF (everysec), a
// token of 10,000 holders (balances of 2^53 and more, and small ones) and 10,000+ log entries,
// and concurrent transfers, burns and batches with opIds through the TypeScript client while
// the slot is resharded to another master and back with `redis-cli --cluster reshard`, then once
// more with the key-by-key steps done by hand (CLUSTER SETSLOT IMPORTING / MIGRATING, one
// MIGRATE per key with a pause between keys, SETSLOT NODE). Every function declares its keys, so
// a call meets ASK or TRYAGAIN as a whole while the slot is split, and the client backs off and
// repeats it. Afterwards: nothing acknowledged lost, nothing applied twice, every call that
// answered an error committed nothing (the journal audit), and `tally audit` finds nothing.
import { expect } from 'chai';
import type { RedisClientType } from 'redis';
import { connectRedis, type RedisConnection } from '../../src/connections.ts';
import * as ledger from '../../src/ledger/functions.ts';
import { tokenKeys } from '../../src/ledger/keys.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import { connect } from '../../testkit/clients.ts';
import { runToExit } from '../../testkit/processes.ts';
import { type RedisClusterHandle, startCluster } from '../../testkit/redis-server.ts';
import { sleep, until } from '../../testkit/wait.ts';
import { auditToken, createLoad } from './ledger-load.ts';
import { report } from './support.ts';

const holders = 10_000;
const treasury = 'treasury';
/** Pause between two keys of the hand-run migration: the slot stays split meanwhile. */
const handPauseMs = 40;

/** Redis Cluster's CRC16 (XMODEM), to find a symbol whose slot is the first of a master's range. */
function keySlot(hashTag: string): number {
  let crc = 0;
  for (const byte of Buffer.from(hashTag)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** Runs redis-cli to its end (bounded); rejects on a non-zero exit. */
const redisCli = (args: string[], timeoutMs = 120_000) => runToExit({ command: 'redis-cli', args, env: process.env }, timeoutMs);

describe('faults: resharding a token\'s slot under load', function () {
  this.timeout(600_000);
  let cluster: RedisClusterHandle;
  let redis: RedisConnection;
  let nodes: RedisClientType[];
  let ids: string[];

  before(async () => {
    cluster = await startCluster(3, { appendfsync: 'everysec' });
    redis = await connectRedis({ clusterUrls: cluster.rootNodes.map((n) => n.url), commandTimeoutMs: 5_000 });
    await migrate(redis);
    nodes = await Promise.all(cluster.nodes.map((n) => connect(n.url)));
    ids = await Promise.all(nodes.map(async (n) => String(await n.sendCommand(['CLUSTER', 'MYID']))));
  });
  after(async () => {
    nodes?.forEach((n) => n.destroy());
    redis?.destroy();
    await cluster?.stop();
  });

  /** The index of the master that owns `slot`, as node 0 sees it. */
  async function ownerOf(slot: number): Promise<number> {
    const shards = String(await nodes[0]!.sendCommand(['CLUSTER', 'NODES'])).split('\n');
    for (const line of shards) {
      const parts = line.split(' ');
      if (!parts[2]?.includes('master')) continue;
      for (const range of parts.slice(8)) {
        const [first, last] = range.split('-').map(Number);
        if (slot >= first! && slot <= (last ?? first!)) return ids.indexOf(parts[0]!);
      }
    }
    return -1;
  }

  /** Redirections and refusals the masters answered (INFO errorstats), summed by code. */
  async function refusals(): Promise<Record<string, number>> {
    const sum: Record<string, number> = { ASK: 0, MOVED: 0, TRYAGAIN: 0 };
    for (const node of nodes) {
      const info = String(await node.sendCommand(['INFO', 'errorstats']));
      for (const code of Object.keys(sum)) sum[code]! += Number(new RegExp(`errorstat_${code}:count=(\\d+)`).exec(info)?.[1] ?? 0);
    }
    return sum;
  }

  async function agreed(): Promise<void> {
    await until(async () => (await Promise.all(nodes.map((n) => n.sendCommand(['CLUSTER', 'INFO'])))).every((i) => String(i).includes('cluster_state:ok')),
      { what: 'cluster_state:ok everywhere', timeoutMs: 30_000, stepMs: 100 });
  }

  /** One slot from `from` to `to` with redis-cli: it takes the source's lowest slot first. */
  async function reshard(from: number, to: number): Promise<number> {
    const started = Date.now();
    await redisCli(['--cluster', 'reshard', `127.0.0.1:${cluster.nodes[from]!.port}`, '--cluster-from', ids[from]!, '--cluster-to', ids[to]!,
      '--cluster-slots', '1', '--cluster-yes', '--cluster-pipeline', '10']);
    await agreed();
    return Date.now() - started;
  }

  /** The same steps by hand, one key at a time with a pause between keys. */
  async function reshardByHand(slot: number, from: number, to: number): Promise<number> {
    const started = Date.now();
    const source = nodes[from]!;
    await nodes[to]!.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', ids[from]!]);
    await source.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', ids[to]!]);
    for (let rounds = 0; rounds < 10_000; rounds++) {
      const keys = (await source.sendCommand(['CLUSTER', 'GETKEYSINSLOT', String(slot), '100']) as string[]).map(String);
      if (keys.length === 0) break;
      // The token's own keys one by one (the slot split between each), the op records 100 a call.
      const main = keys.filter((k) => !k.includes(':op:'));
      for (const key of main) {
        await source.sendCommand(['MIGRATE', '127.0.0.1', String(cluster.nodes[to]!.port), key, '0', '10000']);
        await sleep(handPauseMs);
      }
      const records = keys.filter((k) => k.includes(':op:'));
      if (records.length > 0) await source.sendCommand(['MIGRATE', '127.0.0.1', String(cluster.nodes[to]!.port), '', '0', '10000', 'KEYS', ...records]);
    }
    for (const node of [nodes[to]!, source, ...nodes]) await node.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', ids[to]!]);
    await agreed();
    return Date.now() - started;
  }

  it('loses nothing, applies nothing twice, and audits clean while the slot moves (redis-cli twice, by hand once)', async () => {
    // A symbol whose slot is node 0's first: redis-cli reshard moves the source's lowest slot.
    let symbol = '';
    for (let n = 0; n < 1_000_000 && !symbol; n++) if (keySlot(`RS${n}`) === 0) symbol = `RS${n}`;
    const slot = Number(await nodes[0]!.sendCommand(['CLUSTER', 'KEYSLOT', tokenKeys(symbol).token]));
    expect(slot).to.equal(0);
    expect(await ownerOf(slot)).to.equal(0);

    await ledger.init(redis, symbol, { name: 'Reshard', decimals: 18, totalSupply: (10n ** 40n).toString(), treasury });
    const accounts = Array.from({ length: holders }, (_, i) => `h${i}`);
    for (let i = 0; i < holders; i += 1_000) {
      await ledger.transferBatch(redis, symbol, { legs: accounts.slice(i, i + 1_000).map((to, j) => ({
        from: treasury, to, amount: j % 3 === 0 ? (2n ** 53n + BigInt(i + j)).toString() : String(1 + i + j) })) });
    }
    for (let i = 0; i < 10_000; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => ledger.transfer(redis, symbol, { from: treasury, to: accounts[(i + j) % holders]!, amount: '1' })));
    }
    const info = await ledger.info(redis, symbol);
    expect(info.holders).to.equal(holders + 1);
    const untracked = 1 + holders / 1_000 + 10_000;

    const load = createLoad({ redis, symbols: [symbol], accounts: accounts.slice(0, 64), treasury, concurrency: 16, prefix: `reshard-${symbol}`, opDeadlineMs: 60_000 });
    await Promise.all(nodes.map((n) => n.sendCommand(['CONFIG', 'RESETSTAT'])));
    load.start();
    await sleep(500);
    const there = await reshard(0, 1);
    expect(await ownerOf(slot), 'redis-cli moved the token\'s slot to node 1').to.equal(1);
    await sleep(500);
    const back = await reshard(1, 0);
    expect(await ownerOf(slot), 'and back to node 0').to.equal(0);
    await sleep(500);
    const byHand = await reshardByHand(slot, 0, 2);
    expect(await ownerOf(slot), 'by hand to node 2').to.equal(2);
    await sleep(500);
    await load.stop();

    const figures = await auditToken(redis, symbol, load.journal, { untracked });
    const retried = load.journal.filter((op) => op.attempts > 1).length;
    const refused = await refusals();
    report('reshard under load (redis-cli twice, by hand once)', { ...figures, retried, tryagain: refused.TRYAGAIN!, ask: refused.ASK!, moved: refused.MOVED!, holders, reshardMs: there + back, byHandMs: byHand });
    expect(refused.TRYAGAIN! + refused.ASK!, 'calls met the half-migrated slot (the client repeated them)').to.be.greaterThan(0);
    expect(figures.acknowledged, 'operations acknowledged during the moves').to.be.greaterThan(100);
    expect(figures.lost, 'acknowledged operations lost').to.equal(0);
    expect(figures.duplicated, 'operations applied twice').to.equal(0);
    expect(figures.unknown, 'operations without an answer within 60 s').to.equal(0);
  });
});
