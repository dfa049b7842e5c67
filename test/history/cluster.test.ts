// The replay on Redis Cluster: each token's log is in its own slot's keys (token:{SYM}:log), so
// resolving `at`, the ledger snapshot and the as-of reads work unchanged on a 3-master cluster,
// with several tokens spread over the masters, each equal to its independent model.
import { expect } from 'chai';
import type { RedisClusterType } from 'redis';
import { createLedger } from '../../src/ledger/client.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import type { RedisConnection } from '../../src/connections.ts';
import { connectCluster } from '../../testkit/clients.ts';
import { startCluster, type RedisClusterHandle } from '../../testkit/redis-server.ts';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';
import { expectedSnapshot, expectedTop, generateWorkload } from './workload.ts';

async function text(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts).toString('utf8');
}

describe('history on Redis Cluster', function () {
  this.timeout(180_000);
  let cluster: RedisClusterHandle;
  let redis: RedisClusterType;

  before(async () => {
    cluster = await startCluster(3);
    redis = await connectCluster(cluster.rootNodes);
    await migrate(redis);
  });
  after(async () => {
    redis?.destroy();
    await cluster?.stop();
  });

  it('replays a token on each master to its model: snapshot bytes from init and from a checkpoint, balance and top at', async () => {
    const ledger = createLedger(redis as unknown as RedisConnection);
    // One token per master (startCluster gives node i the i-th third of the slots).
    const byMaster = new Map<number, string>();
    for (let tries = 0; byMaster.size < 3 && tries < 200; tries++) {
      const symbol = uniqueSymbol('K');
      const slot = Number(await redis.sendCommand(`token:{${symbol}}`, true, ['CLUSTER', 'KEYSLOT', `token:{${symbol}}:log`]));
      if (!byMaster.has(Math.floor(slot / Math.ceil(16384 / 3)))) byMaster.set(Math.floor(slot / Math.ceil(16384 / 3)), symbol);
    }
    expect(byMaster.size).to.equal(3);
    const symbols = [...byMaster.values()];
    for (const [i, symbol] of symbols.entries()) {
      const w = await generateWorkload(ledger, symbol, { operations: 5_000, accounts: 80, seed: 40 + i });
      const mid = w.rounds[Math.floor(w.rounds.length / 2)]!;
      const end = w.rounds.at(-1)!;
      const fromInit = await ledger.snapshotAt(symbol, mid.eventId, null);
      const midText = await text(fromInit.chunks);
      expect(midText === expectedSnapshot(w, mid), `${symbol} at ${mid.eventId}`).to.equal(true);
      const checkpoint = { eventId: mid.eventId, content: () => (async function* () { yield Buffer.from(midText); })() };
      const fromCheckpoint = await ledger.snapshotAt(symbol, end.eventId, checkpoint);
      expect((await text(fromCheckpoint.chunks)) === expectedSnapshot(w, end), `${symbol} at ${end.eventId}`).to.equal(true);
      const account = w.accounts[9]!;
      expect(await ledger.balanceAt(symbol, account, end.eventId, checkpoint, 20_000)).to.equal(String(end.balances.get(account) ?? 0n));
      expect(await ledger.topAt(symbol, end.eventId, checkpoint, 10, 20_000)).to.deep.equal(expectedTop(end, 10));
      expect(await ledger.resolveAt(symbol)).to.equal(end.eventId);
    }
  });
});
