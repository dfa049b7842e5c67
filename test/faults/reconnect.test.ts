// Reconnection everywhere: real `node src/main.ts` processes (one API, one worker) on a Redis
// that is killed with SIGKILL and started again. Nobody restarts the processes. While Redis is
// down the API answers 503 UNAVAILABLE and /readyz fails; afterwards REST, the /ledger relay
// (Pub/Sub, on the very socket that was connected before the outage), the Socket.IO Redis
// adapter (worker events reaching the API's clients) and the worker's jobs all work again.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { migrate } from '../../src/migrate/migrations.ts';
import { callerOpId } from '../../src/http/idempotency.ts';
import { createSnapshotEventEmitter } from '../../src/realtime/snapshot-events.ts';
import { call, mint, testSecret } from '../http/support.ts';
import { type FakeMirrorNode, generateHolders, startMirrorNode } from '../../testkit/mirror-node.ts';
import { spawnTally, type TallyProcess } from '../../testkit/processes.ts';
import { connect, connectSocket } from '../../testkit/clients.ts';
import { freePort } from '../../testkit/free-port.ts';
import { type RedisServer, startRedis } from '../../testkit/redis-server.ts';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep, until } from '../../testkit/wait.ts';
import { report } from './support.ts';

const tokenId = '0.0.770001';
const slowTokenId = '0.0.770002';

/** The ledger opId of the admin's Idempotency-Key (REST keys are scoped to their caller). */
const scoped = (key: string) => callerOpId({ account: 'ops', admin: true }, key)!;

interface LedgerEvent { id: string; from?: string; to?: string; amount?: string; opId?: string }
interface SnapshotEvent { type: string; payload: { snapshotId: string; cid?: string } }

function open(url: string, nsp: string, token: string): Promise<Socket> {
  const socket = connectSocket(url, nsp, { accessToken: token });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connection to ${nsp}`)), 5_000);
    socket.once('connect', () => { clearTimeout(timer); resolve(socket); });
    socket.once('connect_error', (error) => { clearTimeout(timer); reject(error); });
  });
}

function subscribe(socket: Socket, symbol: string): Promise<unknown> {
  return socket.timeout(5_000).emitWithAck('subscribe', symbol);
}

describe('faults: every process reconnects after a Redis restart', function () {
  this.timeout(120_000);
  let server: RedisServer;
  let mirror: FakeMirrorNode;
  let dataDir: string;
  let api: TallyProcess;
  let worker: TallyProcess;
  let url: string;
  const sockets: Socket[] = [];
  const admin = mint('ops', { admin: true, expiresInSeconds: 600 });

  before(async () => {
    server = await startRedis({ appendfsync: 'always' });
    const client = await connect(server.url);
    await migrate(client);
    client.destroy();
    dataDir = mkdtempSync(join(tmpdir(), 'tally-faults-'));
    const holders = generateHolders({ count: 250, seed: 7 });
    const many = generateHolders({ count: 3_000, seed: 8 });
    mirror = await startMirrorNode({ tokens: [
      { tokenId, name: 'Fault', symbol: 'F', decimals: 0, totalSupply: holders.reduce((s, h) => s + h.balance, 0n), holders },
      { tokenId: slowTokenId, name: 'Slow', symbol: 'S', decimals: 0, totalSupply: many.reduce((s, h) => s + h.balance, 0n), holders: many },
    ] });
    const port = await freePort();
    const env = {
      REDIS_URL: server.url, JWT_SECRET: testSecret, HOST: '127.0.0.1', PORT: String(port), RATE_LIMIT_PER_MINUTE: '0',
      DATA_DIR: dataDir, MIRROR_NODE_URL: mirror.url, HEDERA_NETWORK: 'testnet', MIRROR_RPS: '1000',
      JOB_POLL_MS: '200', JOB_LOCK_LIFETIME_MS: '2000', SNAPSHOT_BACKOFF_MS: '100', SHUTDOWN_TIMEOUT_MS: '5000',
      TALLY_NAMESPACE: `faults${uniqueSymbol().toLowerCase()}`,
    };
    url = `http://127.0.0.1:${port}`;
    api = spawnTally({ ...env, ROLES: 'api' });
    worker = spawnTally({ ...env, ROLES: 'worker', PORT: '0' });
    await api.waitFor(/tally listening on/);
    await worker.waitFor(/tally started/);
  });

  after(async () => {
    for (const socket of sockets) socket.disconnect();
    await Promise.all([api?.stop(), worker?.stop()]);
    await mirror?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function snapshot(id = tokenId): Promise<{ snapshotId: string; record: Record<string, unknown> }> {
    return finished((await request(id)).snapshotId);
  }

  async function request(id: string): Promise<{ snapshotId: string }> {
    const posted = await call(url, 'POST', '/v1/snapshots', { token: admin, body: { tokenId: id } });
    expect(posted.status, posted.text).to.equal(202);
    return posted.body as { snapshotId: string };
  }

  async function finished(snapshotId: string, timeoutMs = 30_000): Promise<{ snapshotId: string; record: Record<string, unknown> }> {
    let record: Record<string, unknown> = {};
    await until(async () => {
      record = (await call(url, 'GET', `/v1/snapshots/${snapshotId}`, { token: admin })).body as Record<string, unknown>;
      return record.status === 'completed' || record.status === 'failed';
    }, { what: `snapshot ${snapshotId} to finish`, timeoutMs, stepMs: 250 });
    return { snapshotId, record };
  }

  it('answers 503 while Redis is down and serves REST, /ledger, /snapshots and jobs again afterwards', async () => {
    const symbol = uniqueSymbol('RC');
    const created = await call(url, 'POST', '/v1/tokens', { token: admin, body: { symbol, name: 'Reconnect', decimals: 0, totalSupply: '1000000', treasury: 'treasury' } });
    expect(created.status, created.text).to.equal(201);

    const ledgerSocket = await open(url, '/ledger', admin);
    const snapshotsSocket = await open(url, '/snapshots', admin);
    sockets.push(ledgerSocket, snapshotsSocket);
    const transfers: LedgerEvent[] = [];
    const snapshotEvents: SnapshotEvent[] = [];
    ledgerSocket.on('transfer', (event: LedgerEvent) => transfers.push(event));
    snapshotsSocket.on('snapshots_events', (event: SnapshotEvent) => snapshotEvents.push(event));
    expect(await subscribe(ledgerSocket, symbol)).to.deep.equal({ ok: true });

    let attempted = 0;
    const acknowledged = new Set<string>();
    const move = async (opId: string) => {
      attempted += 1;
      const reply = await call(url, 'POST', `/v1/tokens/${symbol}/transfers`, {
        token: admin, body: { from: 'treasury', to: 'alice', amount: '1' }, headers: { 'idempotency-key': opId },
      });
      if (reply.status === 201) acknowledged.add(scoped(opId));
      return reply;
    };
    expect((await move('before-1')).status).to.equal(201);
    await until(() => transfers.some((e) => e.opId === scoped('before-1')), { what: 'the relayed transfer before the outage', timeoutMs: 5_000 });
    const before = await snapshot();
    expect(before.record.status).to.equal('completed');
    await until(() => snapshotEvents.some((e) => e.type === 'snapshots_completed' && e.payload.snapshotId === before.snapshotId), { what: 'the completed event before the outage', timeoutMs: 5_000 });

    await server.kill9();
    const startedMs = Date.now();
    const down = await move('during-1');
    expect(down.status).to.equal(503);
    expect(down.body.error.code).to.equal('UNAVAILABLE');
    const ready = await call(url, 'GET', '/readyz');
    expect(ready.status).to.equal(503);
    expect(ready.body.checks.redis.ok).to.equal(false);
    expect(ready.body.checks.realtime.ok).to.equal(false);
    expect((await call(url, 'GET', '/healthz')).status).to.equal(200);
    const snapshotDown = await call(url, 'POST', '/v1/snapshots', { token: admin, body: { tokenId } });
    expect(snapshotDown.status).to.equal(503);
    expect(snapshotDown.body.error.code).to.equal('UNAVAILABLE');
    expect(Date.now() - startedMs, 'answers while down come quickly').to.be.below(10_000);
    await sleep(1_500); // long enough for every client to have seen the outage and be reconnecting

    await server.restart();
    await until(async () => (await call(url, 'GET', '/readyz')).status === 200, { what: '/readyz to answer 200 again', timeoutMs: 20_000, stepMs: 100 });
    // Ready means every connection is back, the Pub/Sub ones resubscribed: nothing published
    // from here on is dropped by the relay or the adapter.
    const probe = await connect(server.url);
    const subscribers = await probe.sendCommand(['PUBSUB', 'NUMSUB', `token:{${symbol}}:transfers`]) as [string, number];
    probe.destroy();
    expect(Number(subscribers[1]), 'the relay subscribed again before /readyz said ready').to.equal(1);
    // The op that failed with 503 never ran: a retry with its key applies it now, once.
    expect((await move('during-1')).status).to.equal(201);
    expect((await move('after-1')).status).to.equal(201);
    await until(() => transfers.some((e) => e.opId === scoped('after-1')) && transfers.some((e) => e.opId === scoped('during-1')),
      { what: 'the relayed transfers after the restart, on the socket opened before it', timeoutMs: 10_000 });
    expect(transfers.filter((e) => e.opId === scoped('after-1'))).to.have.length(1);

    // A socket connected after the restart subscribes too.
    const late = await open(url, '/ledger', admin);
    sockets.push(late);
    const lateTransfers: LedgerEvent[] = [];
    late.on('transfer', (event: LedgerEvent) => lateTransfers.push(event));
    expect(await subscribe(late, symbol)).to.deep.equal({ ok: true });
    expect((await move('after-2')).status).to.equal(201);
    await until(() => lateTransfers.some((e) => e.opId === scoped('after-2')), { what: 'the relayed transfer on a new socket', timeoutMs: 5_000 });

    // The worker takes jobs again, and its events reach this API's client through the adapter.
    const after = await snapshot();
    expect(after.record.status, JSON.stringify(after.record)).to.equal('completed');
    expect(after.record.cid).to.equal(before.record.cid);
    await until(() => snapshotEvents.some((e) => e.type === 'snapshots_completed' && e.payload.snapshotId === after.snapshotId), { what: 'the completed event after the restart', timeoutMs: 5_000 });
    const balance = await call(url, 'GET', `/v1/tokens/${symbol}/balances/alice`, { token: admin });
    expect(balance.body.balance).to.equal('4');
    const log = await call(url, 'GET', `/v1/tokens/${symbol}/events?limit=100`, { token: admin });
    const found = (log.body.events as { opId?: string }[]).filter((e) => e.opId && acknowledged.has(e.opId)).length;
    report('API and worker processes across a Redis restart', { attempted, acknowledged: acknowledged.size, found, lost: acknowledged.size - found, answered503: attempted - acknowledged.size });
    expect(found).to.equal(acknowledged.size);
  });

  it('finishes a snapshot that was running when Redis died, with the clean run\'s bytes', async () => {
    mirror.setFaults({});
    const clean = await snapshot(slowTokenId);
    expect(clean.record.status).to.equal('completed');

    mirror.setFaults({ delayMs: 40 }); // 30 pages: about 1.5 s of work
    const { snapshotId } = await request(slowTokenId);
    await until(async () => {
      const r = await call(url, 'GET', `/v1/snapshots/${snapshotId}`, { token: admin });
      return r.body?.status === 'running' && r.body.progress > 0;
    }, { what: 'the job to start', timeoutMs: 15_000, stepMs: 50 });
    await server.kill9();
    await sleep(2_000);
    await server.restart();
    mirror.setFaults({});
    const done = await finished(snapshotId, 60_000);
    expect(done.record.status, JSON.stringify(done.record)).to.equal('completed');
    expect(done.record.cid).to.equal(clean.record.cid);
    const content = await call(url, 'GET', `/v1/snapshots/${snapshotId}/content`, { token: admin });
    const reference = await call(url, 'GET', `/v1/snapshots/${clean.snapshotId}/content`, { token: admin });
    expect(content.status).to.equal(200);
    expect(content.text).to.equal(reference.text);
  });

  it('drops events published while Redis dies instead of crashing on an unhandled rejection', async () => {
    const pub = await connect(server.url);
    let unhandled = 0;
    const onUnhandled = () => { unhandled += 1; };
    process.prependListener('unhandledRejection', onUnhandled);
    let dropped = 0;
    try {
      const sink = createSnapshotEventEmitter(pub, 'faults-io', () => { dropped += 1; });
      const event = { type: 'snapshots_progress', payload: { jobId: 'j', jobName: 'snapshot', snapshotId: 's', status: 'running', progress: 1 } } as const;
      const stopMs = Date.now() + 800;
      const load = (async () => {
        while (Date.now() < stopMs) {
          for (let i = 0; i < 50; i++) sink.emit(event, 'u');
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      await sleep(200);
      await server.kill9(); // publishes in flight fail with ECONNRESET
      await load;
      await sleep(200);
    } finally {
      pub.destroy();
      await sleep(50);
      process.removeListener('unhandledRejection', onUnhandled);
      await server.restart();
    }
    expect(unhandled).to.equal(0);
    expect(dropped).to.be.greaterThan(0);
  });
});
