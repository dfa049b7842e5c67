// kill -9 of one master of a 3-master Redis Cluster (no replicas, AOF `appendfsync always` on
// every node), 20 times (FAULTS_QUICK=1: 6), rotating over the masters, under a load on six
// tokens spread two per master. While a master is down its slots answer nothing (after the
// cluster node timeout, 2 s here, the whole cluster says CLUSTERDOWN); the client retries
// opId calls, the application retries with the same opId; the restarted master reloads its
// AOF. After each restart every token is audited as in redis-crash.test.ts.
import { expect } from 'chai';
import { createClient } from 'redis';
import * as ledger from '../../src/ledger/functions.ts';
import { tokenKey } from '../../src/ledger/keys.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import { connectRedis, type RedisConnection } from '../../src/connections.ts';
import { connect } from '../../testkit/clients.ts';
import { type RedisClusterHandle, startCluster } from '../../testkit/redis-server.ts';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep, until } from '../../testkit/wait.ts';
import { addFigures, auditToken, createLoad, noFigures } from './ledger-load.ts';
import { quick, report } from './support.ts';

const accounts = Array.from({ length: 16 }, (_, i) => `acct-${i}`);
const treasury = 'treasury';
const tokensPerMaster = 2;
/** Past the cluster node timeout (2 s): the cluster marks the master failed and stops serving. */
const longOutageMs = 3_000;

async function clusterState(url: string): Promise<string> {
  const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 500 } });
  client.on('error', () => {});
  try {
    await client.connect();
    return String(await client.sendCommand(['CLUSTER', 'INFO']));
  } catch {
    return 'unreachable';
  } finally {
    client.destroy();
  }
}

describe('faults: kill -9 of a Redis Cluster master under load', function () {
  this.timeout(300_000);
  let cluster: RedisClusterHandle;
  let redis: RedisConnection;

  before(async () => {
    cluster = await startCluster(3, { appendfsync: 'always' });
    redis = await connectRedis({ clusterUrls: cluster.rootNodes.map((n) => n.url), commandTimeoutMs: 1_000 });
    await migrate(redis);
  });
  after(async () => {
    redis?.destroy();
    await cluster?.stop();
  });

  /** Symbols whose token key hashes to each master's slot range, tokensPerMaster each. */
  async function symbolsPerMaster(): Promise<string[][]> {
    const probe = await connect(cluster.nodes[0]!.url);
    const slotsPerNode = Math.ceil(16384 / cluster.nodes.length);
    const byMaster: string[][] = cluster.nodes.map(() => []);
    for (let tries = 0; tries < 1_000 && byMaster.some((list) => list.length < tokensPerMaster); tries++) {
      const symbol = uniqueSymbol('CC');
      const slot = Number(await probe.sendCommand(['CLUSTER', 'KEYSLOT', tokenKey(symbol)]));
      const owner = byMaster[Math.floor(slot / slotsPerNode)]!;
      if (owner.length < tokensPerMaster) owner.push(symbol);
    }
    probe.destroy();
    return byMaster;
  }

  it(`loses nothing acknowledged when masters crash and restart (${quick ? 6 : 20} kills)`, async () => {
    const kills = quick ? 6 : 20;
    const byMaster = await symbolsPerMaster();
    const symbols = byMaster.flat();
    expect(symbols).to.have.length(cluster.nodes.length * tokensPerMaster);
    for (const symbol of symbols) await ledger.init(redis, symbol, { name: 'Cluster crash', decimals: 6, totalSupply: '1'.padEnd(36, '0'), treasury });
    const load = createLoad({ redis, symbols, accounts, treasury, concurrency: 24, prefix: `cluster-${symbols[0]}`, opDeadlineMs: 30_000 });
    const startedMs = Date.now();
    let downMsTotal = 0;
    let figures = noFigures();
    for (let kill = 1; kill <= kills; kill++) {
      const victim = cluster.nodes[kill % cluster.nodes.length]!;
      load.start();
      await sleep(100 + Math.random() * 250);
      await victim.kill9();
      // One long outage per run: the cluster goes CLUSTERDOWN as a whole until the master is back.
      const downMs = kill === Math.ceil(kills / 2) ? longOutageMs : 50 + Math.random() * 600;
      await sleep(downMs);
      await victim.restart();
      downMsTotal += downMs;
      // A restarted master serves its slots only about 2 s after it starts (Redis' rejoin delay).
      await until(async () => {
        const states = await Promise.all(cluster.nodes.map((n) => clusterState(n.url)));
        return states.every((s) => s.includes('cluster_state:ok'));
      }, { what: 'cluster_state:ok on every node', timeoutMs: 20_000, stepMs: 100 });
      await sleep(150);
      await load.stop();
      figures = noFigures();
      for (const symbol of symbols) figures = addFigures(figures, await auditToken(redis, symbol, load.journal));
      expect(figures.lost, `acknowledged operations lost after kill ${kill}`).to.equal(0);
    }
    report('cluster master kill -9, appendfsync always', { ...figures, kills, downMsTotal: Math.round(downMsTotal), seconds: Math.round((Date.now() - startedMs) / 100) / 10 });
    expect(figures.acknowledged).to.be.greaterThan(100 * kills);
    expect(figures.lost).to.equal(0);
  });
});
