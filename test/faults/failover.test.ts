// Failover to an asynchronous replica: what the README's durability section says about it.
// Redis replicates after it replies, so a write acknowledged by the master is on the replica
// only a moment later. A master (AOF always) with one replica (AOF always) under load; the
// master is SIGKILLed and the replica promoted (REPLICAOF NO ONE), as a failover would.
// - With the replication link cut for a second before the crash (a slow or partitioned
//   replica), every write acknowledged in that second is lost, though each was fsynced on the
//   master: its own AOF has it, the promoted replica does not.
// - Without a cut, the replica misses what was in flight on the link at the crash (often
//   nothing on loopback; the figure is printed, not required).
// The old master, restarted from its AOF, has every acknowledged write in both cases.
// In both cases the promoted replica is consistent: what it has is a prefix of the master's
// history (balances as the log implies, summing to circulatingSupply, nothing doubled).
import { expect } from 'chai';
import * as ledger from '../../src/ledger/functions.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import { connectRedis, type RedisConnection } from '../../src/connections.ts';
import { connect } from '../../testkit/clients.ts';
import { type RedisServer, startRedis } from '../../testkit/redis-server.ts';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep, until } from '../../testkit/wait.ts';
import { auditToken, createLoad } from './ledger-load.ts';
import { report, startPlug } from './support.ts';

const accounts = Array.from({ length: 16 }, (_, i) => `acct-${i}`);
const treasury = 'treasury';

async function replicationInfo(url: string): Promise<string> {
  const client = await connect(url);
  try {
    return String(await client.sendCommand(['INFO', 'replication']));
  } finally {
    client.destroy();
  }
}

async function failover(cutMs: number) {
  const master: RedisServer = await startRedis({ appendfsync: 'always' });
  const link = await startPlug(master.port);
  const replica: RedisServer = await startRedis({ appendfsync: 'always', extraArgs: ['--replicaof', '127.0.0.1', String(link.port)] });
  let redis: RedisConnection | undefined;
  let promoted: RedisConnection | undefined;
  try {
    await until(async () => (await replicationInfo(replica.url)).includes('master_link_status:up'), { what: 'the replica to sync', timeoutMs: 15_000, stepMs: 100 });
    redis = await connectRedis({ url: master.url, commandTimeoutMs: 1_000 });
    await migrate(redis);
    const symbol = uniqueSymbol('FO');
    await ledger.init(redis, symbol, { name: 'Failover', decimals: 0, totalSupply: '1'.padEnd(30, '0'), treasury });
    const load = createLoad({ redis, symbols: [symbol], accounts, treasury, concurrency: 16, prefix: `failover-${symbol}`, opDeadlineMs: 500 });
    load.start();
    await sleep(300);
    let ackedBeforeCut = 0;
    if (cutMs > 0) {
      await link.unplug(); // the replica no longer hears from the master
      // Calls in flight at the cut may have run and replicated before it, their replies arriving
      // after: they count as before the cut (at most the load's concurrency).
      ackedBeforeCut = load.journal.filter((op) => op.outcome === 'ack' || op.outcome === 'pending').length;
      await sleep(cutMs);
    }
    await master.kill9();
    await load.stop(); // operations in flight end as unknown (the master is gone)
    await connect(replica.url).then(async (c) => {
      await c.sendCommand(['REPLICAOF', 'NO', 'ONE']);
      c.destroy();
    });
    promoted = await connectRedis({ url: replica.url });
    const figures = await auditToken(promoted, symbol, load.journal, { lossExpected: true });
    const ackedAfterCut = cutMs > 0 ? figures.acknowledged - ackedBeforeCut : 0;
    // The old master's AOF has every acknowledged write: the loss is the failover's, not the disk's.
    await master.restart();
    const old = await connectRedis({ url: master.url });
    try {
      const onOldMaster = await auditToken(old, symbol, load.journal);
      return { ...figures, ackedAfterCut, lostOnOldMasterDisk: onOldMaster.lost };
    } finally {
      old.destroy();
    }
  } finally {
    redis?.destroy();
    promoted?.destroy();
    await link.unplug();
    await Promise.all([master.stop(), replica.stop()]);
  }
}

describe('faults: failover to an asynchronous replica', function () {
  this.timeout(120_000);

  it('loses every write acknowledged while the replica was cut off', async () => {
    const figures = await failover(1_000);
    report('failover, replica cut off 1 s before the crash', figures);
    expect(figures.ackedAfterCut).to.be.greaterThan(0);
    expect(figures.lost, 'what the master acknowledged after the cut is not on the replica').to.be.at.least(figures.ackedAfterCut);
    expect(figures.lostOnOldMasterDisk, 'but it is in the old master\'s AOF').to.equal(0);
  });

  it('loses at most what was in flight when replication keeps up', async () => {
    const figures = await failover(0);
    report('failover, replica in sync', figures);
    expect(figures.found + figures.lost).to.equal(figures.acknowledged);
    expect(figures.lostOnOldMasterDisk).to.equal(0);
  });
});
