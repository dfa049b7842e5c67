// The ledger library on every master, always: a master that joins a running cluster without the
// library, or one that loses its functions, answers UNAVAILABLE naming the fix (never `ERR
// Function not found` as a 500), /readyz names it, and `npm run migrate` (migrate()) fixes it.
import { expect } from 'chai';
import type { RedisClientType, RedisClusterType } from 'redis';
import { spawnSync } from 'node:child_process';
import * as ledger from '../../src/ledger/functions.ts';
import { tokenKeys } from '../../src/ledger/keys.ts';
import { librariesOnMasters } from '../../src/ledger/library.ts';
import { TallyError } from '../../src/errors.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import { connect, connectCluster } from '../../testkit/clients.ts';
import { type RedisClusterHandle, type RedisServer, startCluster, startRedis } from '../../testkit/redis-server.ts';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';
import { until } from '../../testkit/wait.ts';
import { call, mint, startApp, type TestApp } from '../http/support.ts';

const token = { name: 'Nodes', decimals: 0, totalSupply: '1000', treasury: 'treasury' };

describe('ledger library on every master (a node joins a running cluster)', function () {
  this.timeout(120_000);
  let cluster: RedisClusterHandle;
  const extra: RedisServer[] = [];
  let redis: RedisClusterType;
  let app: TestApp;
  let seed: RedisClientType;

  before(async () => {
    cluster = await startCluster(3);
    redis = await connectCluster(cluster.rootNodes);
    await migrate(redis);
    seed = await connect(cluster.nodes[0]!.url);
    app = await startApp({ redisUrl: '', env: { REDIS_CLUSTER_URLS: cluster.rootNodes.map((n) => n.url).join(',') } });
  });
  after(async () => {
    await app?.close();
    seed?.destroy();
    redis?.destroy();
    await cluster?.stop();
    await Promise.all(extra.map((n) => n.stop()));
  });

  /** `redis-cli --cluster check` passes: every node agrees on the slots. */
  async function clusterAgrees(port: number): Promise<void> {
    await until(() => spawnSync('redis-cli', ['--cluster', 'check', `127.0.0.1:${port}`], { timeout: 10_000 }).status === 0,
      { what: 'the cluster to agree on its configuration', timeoutMs: 30_000, stepMs: 250 });
  }

  const nodeId = async (client: RedisClientType) => String(await client.sendCommand(['CLUSTER', 'MYID']));

  /** A new master with no functions, joined with CLUSTER MEET, owning the slot of `symbol`. */
  async function joinOwning(symbol: string): Promise<RedisServer> {
    const node = await startRedis({ cluster: true });
    extra.push(node);
    const client = await connect(node.url);
    await seed.sendCommand(['CLUSTER', 'MEET', '127.0.0.1', String(node.port)]);
    const known = cluster.nodes.length + extra.length;
    const everyone = await Promise.all([...cluster.nodes, node].map((n) => connect(n.url)));
    await until(async () => (await Promise.all(everyone.map((c) => c.sendCommand(['CLUSTER', 'INFO']))))
      .every((info) => String(info).includes(`cluster_known_nodes:${known}`)), { what: 'every node to know the new one', timeoutMs: 20_000 });
    everyone.forEach((c) => c.destroy());
    const slot = String(await seed.sendCommand(['CLUSTER', 'KEYSLOT', tokenKeys(symbol).token]));
    const owner = Math.floor(Number(slot) / Math.ceil(16384 / cluster.nodes.length));
    const ownerClient = await connect(cluster.nodes[owner]!.url);
    const id = await nodeId(client);
    await client.sendCommand(['CLUSTER', 'SETSLOT', slot, 'IMPORTING', await nodeId(ownerClient)]);
    await ownerClient.sendCommand(['CLUSTER', 'SETSLOT', slot, 'MIGRATING', id]);
    for (const c of [client, ownerClient, seed]) await c.sendCommand(['CLUSTER', 'SETSLOT', slot, 'NODE', id]);
    await clusterAgrees(node.port);
    ownerClient.destroy();
    client.destroy();
    return node;
  }

  it('answers UNAVAILABLE naming npm run migrate, /readyz names the node, and migrate fixes it', async () => {
    const symbol = uniqueSymbol('N');
    const node = await joinOwning(symbol);
    let error: unknown;
    await until(async () => {
      error = await ledger.init(redis, symbol, token).then(() => null, (caught: unknown) => caught);
      return error instanceof TallyError;
    }, { what: 'the client to reach the new node' });
    expect(error).to.include({ code: 'UNAVAILABLE' });
    expect((error as Error).message).to.match(/ledger library is not loaded .* run npm run migrate/);
    const states = await librariesOnMasters(redis);
    expect(states.find((s) => s.node.endsWith(`:${node.port}`))?.state).to.equal('missing');

    // Through REST: 503 UNAVAILABLE with the fix, never a 500 (the API's client learns of the
    // new master from the redirection, and /readyz then checks it too).
    let rest = await call(app.url, 'GET', `/v1/tokens/${symbol}`, { token: mint('alice') });
    await until(async () => {
      rest = await call(app.url, 'GET', `/v1/tokens/${symbol}`, { token: mint('alice') });
      return rest.status === 503;
    }, { what: 'the API to reach the new master' });
    expect(rest.body.error.code).to.equal('UNAVAILABLE');
    let ready = await call(app.url, 'GET', '/readyz');
    await until(async () => {
      ready = await call(app.url, 'GET', '/readyz');
      return ready.status === 503;
    }, { what: '/readyz to see the new master' });
    expect(ready.body.checks.ledger.ok).to.equal(false);
    expect(ready.body.checks.ledger.detail).to.include(`:${node.port}`).and.include('npm run migrate');

    const results = await migrate(redis);
    expect(results.find((r) => r.id.startsWith('0001'))?.applied, '0001 applied again').to.equal(true);
    expect(await ledger.init(redis, symbol, token)).to.equal('created');
    expect((await librariesOnMasters(redis)).every((s) => s.state === 'current')).to.equal(true);
    expect((await call(app.url, 'GET', '/readyz')).status).to.equal(200);
    expect((await migrate(redis)).every((r) => !r.applied), 'nothing pending after').to.equal(true);
  });

  it('reloads the library on a master that lost its functions (FUNCTION FLUSH)', async () => {
    const symbol = uniqueSymbol('F');
    await ledger.init(redis, symbol, token);
    const slot = Number(await seed.sendCommand(['CLUSTER', 'KEYSLOT', tokenKeys(symbol).token]));
    const owner = Math.floor(slot / Math.ceil(16384 / cluster.nodes.length));
    const client = await connect(cluster.nodes[owner]!.url);
    await client.sendCommand(['FUNCTION', 'FLUSH']);
    client.destroy();
    const error = await ledger.balance(redis, symbol, 'treasury').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TallyError).and.include({ code: 'UNAVAILABLE' });
    await migrate(redis);
    expect(await ledger.balance(redis, symbol, 'treasury')).to.equal('1000');
  });

  it('copies the library to a node added with redis-cli --cluster add-node', async function () {
    const node = await startRedis({ cluster: true });
    extra.push(node);
    await clusterAgrees(cluster.nodes[0]!.port);
    const added = spawnSync('redis-cli', ['--cluster', 'add-node', `127.0.0.1:${node.port}`, `127.0.0.1:${cluster.nodes[0]!.port}`], { encoding: 'utf8', timeout: 30_000 });
    expect(added.status, added.stdout + added.stderr).to.equal(0);
    const client = await connect(node.url);
    const list = await client.sendCommand(['FUNCTION', 'LIST', 'LIBRARYNAME', 'ledger']) as unknown[];
    client.destroy();
    expect(list, 'redis-cli add-node copies the functions of the cluster').to.have.length(1);
  });
});
