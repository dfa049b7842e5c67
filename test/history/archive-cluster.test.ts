// A bounded log on Redis Cluster while the token's slot moves: a 3-master cluster, the metadata
// store in its own hash-tagged slot, and a token whose log is archived segment by segment (the
// job's archiveDueLogs, one segment a run) while transfers go on and its slot is migrated key by
// key to another master and back (CLUSTER SETSLOT IMPORTING / MIGRATING, one MIGRATE per key with
// a pause between keys, so calls meet ASK and TRYAGAIN and wait for the move: the client repeats
// them, as it does for writes). Every key the archiving touches is one of
// the token's (token:{SYM}...), so each call is routed and guarded as a whole. Afterwards the
// chain verifies from init (verifyLog), nothing is lost, and an as-of read through the archives
// equals a replay of the whole log taken before any trim.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClientType } from 'redis';
import { connectRedis, type RedisConnection } from '../../src/connections.ts';
import { archiveOf } from '../../src/http/ledger-history.ts';
import { createLedger } from '../../src/ledger/client.ts';
import { verifyLog } from '../../src/ledger/log-archive.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import { openIpfsStore, type IpfsStore } from '../../src/snapshots/ipfs-store.ts';
import { archiveDueLogs } from '../../src/snapshots/log-archives.ts';
import { createRedisSnapshotStore } from '../../src/snapshots/store/redis.ts';
import { connect } from '../../testkit/clients.ts';
import { startCluster, type RedisClusterHandle } from '../../testkit/redis-server.ts';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep, until } from '../../testkit/wait.ts';
import { generateWorkload } from './workload.ts';

const retention = 200;
const segmentEntries = 250;
const pauseMs = 400;

describe('history: a bounded log on Redis Cluster while the token\'s slot moves', function () {
  this.timeout(240_000);
  let cluster: RedisClusterHandle;
  let redis: RedisConnection;
  let nodes: RedisClientType[];
  let ids: string[];
  let ipfs: IpfsStore;
  let dir: string;

  before(async () => {
    cluster = await startCluster(3);
    redis = await connectRedis({ clusterUrls: cluster.rootNodes.map((n) => n.url), commandTimeoutMs: 5_000 });
    await migrate(redis);
    nodes = await Promise.all(cluster.nodes.map((n) => connect(n.url)));
    ids = await Promise.all(nodes.map(async (n) => String(await n.sendCommand(['CLUSTER', 'MYID']))));
    dir = mkdtempSync(join(tmpdir(), 'tally-archive-cluster-'));
    ipfs = await openIpfsStore({ dir });
  });
  after(async () => {
    await ipfs?.stop();
    nodes?.forEach((n) => n.destroy());
    redis?.destroy();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function ownerOf(slot: number): Promise<number> {
    for (const line of String(await nodes[0]!.sendCommand(['CLUSTER', 'NODES'])).split('\n')) {
      const parts = line.split(' ');
      if (!parts[2]?.includes('master')) continue;
      for (const range of parts.slice(8)) {
        const [first, last] = range.split('-').map(Number);
        if (slot >= first! && slot <= (last ?? first!)) return ids.indexOf(parts[0]!);
      }
    }
    return -1;
  }
  async function moveByHand(slot: number, from: number, to: number): Promise<void> {
    const source = nodes[from]!;
    await nodes[to]!.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', ids[from]!]);
    await source.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', ids[to]!]);
    for (let rounds = 0; rounds < 1_000; rounds++) {
      const keys = (await source.sendCommand(['CLUSTER', 'GETKEYSINSLOT', String(slot), '100']) as string[]).map(String);
      if (keys.length === 0) break;
      for (const key of keys) {
        await source.sendCommand(['MIGRATE', '127.0.0.1', String(cluster.nodes[to]!.port), key, '0', '10000']);
        await sleep(pauseMs);
      }
    }
    for (const node of [nodes[to]!, source, ...nodes]) await node.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', ids[to]!]);
    await until(async () => (await Promise.all(nodes.map((n) => n.sendCommand(['CLUSTER', 'INFO'])))).every((i) => String(i).includes('cluster_state:ok')),
      { what: 'cluster_state:ok everywhere', timeoutMs: 30_000, stepMs: 100 });
  }

  it('archives and trims in the token\'s own slot while it moves there and back under writes: the chain verifies, nothing is lost, answers unchanged', async () => {
    const ledger = createLedger(redis);
    const symbol = uniqueSymbol('Z');
    const slot = Number(await nodes[0]!.sendCommand(['CLUSTER', 'KEYSLOT', `token:{${symbol}}`]));
    const home = await ownerOf(slot);
    const away = (home + 1) % 3;
    const workload = await generateWorkload(ledger, symbol, { operations: 15_000, accounts: 80, seed: 55 });
    const mid = workload.rounds[Math.floor(workload.rounds.length / 2)]!;
    const entries = await ledger.logLength(symbol);
    const store = createRedisSnapshotStore({ redis, keyPrefix: `{cl${symbol.toLowerCase()}:snap}:` });
    const deps = { store, ipfs, ledger, retentionEntries: retention, segmentEntries, segmentsPerRunMax: 1, onError: (_s: string, e: unknown) => { errors.push(String(e)); } };
    const errors: string[] = [];
    const before = { balance: await ledger.balanceAt(symbol, workload.accounts[3]!, mid.eventId, null, 1_000_000), top: await ledger.topAt(symbol, mid.eventId, null, 20, 1_000_000) };

    let moving = true;
    let writes = 0;
    const writer = (async () => {
      while (moving) {
        await ledger.transfer(symbol, { from: '0.0.2', to: workload.accounts[1 + (writes % (workload.accounts.length - 1))]!, amount: '1' });
        writes += 1;
        await sleep(5);
      }
    })();
    let runs = 0;
    const moves: { start?: number; end?: number } = {};
    let duringMoves = 0;
    const archiver = (async () => {
      while (moving) {
        const startedAt = Date.now();
        const run = await archiveDueLogs(deps, null);
        runs += 1;
        // A run in flight while the slot was split: its calls met ASK / TRYAGAIN (the client repeats those) and waited for the move.
        if (startedAt < (moves.end ?? Infinity) && Date.now() > (moves.start ?? Infinity)) duringMoves += run.archived.length;
        await sleep(150);
      }
    })();
    moves.start = Date.now();
    await moveByHand(slot, home, away);
    expect(await ownerOf(slot)).to.equal(away);
    await moveByHand(slot, away, home);
    expect(await ownerOf(slot)).to.equal(home);
    moves.end = Date.now();
    // Let the archiving catch up, then stop.
    await until(async () => (await ledger.logLength(symbol)) < retention + segmentEntries, { what: 'the log archived down to its retention', timeoutMs: 60_000, stepMs: 100 });
    moving = false;
    await Promise.all([writer, archiver]);
    expect(errors, 'archiving runs that failed').to.deep.equal([]);
    expect(duringMoves, 'segments archived by runs in flight while the slot moved').to.be.at.least(1);

    const last = (await store.lastLogSegment(symbol))!;
    expect(last.index + 1).to.be.at.least(Math.floor((entries - retention) / segmentEntries));
    expect((last.index + 1) * segmentEntries + await ledger.logLength(symbol), 'every entry archived or in the stream').to.equal(entries + writes);
    const report = await verifyLog(redis, symbol, { getLogSegment: (s, i) => store.getLogSegment(s, i), lastLogSegment: (s) => store.lastLogSegment(s), cat: (cid) => ipfs.cat(cid) });
    expect(report, JSON.stringify(report.violations)).to.include({ ok: true, logEntries: entries + writes, segments: last.index + 1 });
    const archive = archiveOf({ store, ipfs });
    expect(await ledger.balanceAt(symbol, workload.accounts[3]!, mid.eventId, null, 1_000_000, archive)).to.equal(before.balance);
    expect(await ledger.topAt(symbol, mid.eventId, null, 20, 1_000_000, archive)).to.deep.equal(before.top);
    console.log(`      [cluster] ${last.index + 1} segments archived in ${runs} runs, ${duringMoves} by runs in flight while the slot moved (${moves.end! - moves.start!} ms), ${writes} transfers meanwhile`);
  });
});
