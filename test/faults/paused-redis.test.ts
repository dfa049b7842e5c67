// A Redis that stops answering without closing its connections (SIGSTOP: a hung host, a network
// cut that sends no reset). Every route that reads or writes Redis, and every snapshot store
// call, must answer 503 UNAVAILABLE once REDIS_COMMAND_TIMEOUT_MS has passed instead of hanging,
// and work again once Redis resumes. The timeout is applied once, in src/connections.ts.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { connectRedis, type RedisConnection } from '../../src/connections.ts';
import { classifyError } from '../../src/http/errors.ts';
import { createLedger } from '../../src/ledger/client.ts';
import { createLogger } from '../../src/logger.ts';
import { start, type Started } from '../../src/main.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import { newId } from '../../src/snapshots/store/metadata-store.ts';
import { createRedisSnapshotStore } from '../../src/snapshots/store/redis.ts';
import { mint, testSecret } from '../http/support.ts';
import { type RedisServer, startRedis } from '../../testkit/redis-server.ts';

const commandTimeoutMs = 800;
/** A request still unanswered by then counts as hung. */
const hungAfterMs = 10 * commandTimeoutMs;

describe('faults: a paused Redis (SIGSTOP)', function () {
  this.timeout(120_000);
  let server: RedisServer;
  let app: Started;
  let redis: RedisConnection;
  let dataDir: string;
  const admin = mint('ops', { admin: true });

  before(async () => {
    server = await startRedis();
    redis = await connectRedis({ url: server.url, commandTimeoutMs });
    await migrate(redis);
    await createLedger(redis).init('PAUSE', { name: 'Paused', decimals: 0, totalSupply: '100', treasury: 'ops' });
    dataDir = mkdtempSync(join(tmpdir(), 'tally-paused-'));
    app = await start(loadConfig({
      REDIS_URL: server.url, REDIS_COMMAND_TIMEOUT_MS: String(commandTimeoutMs), JWT_SECRET: testSecret, PORT: '0', HOST: '127.0.0.1',
      RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'silent', DATA_DIR: dataDir, TALLY_NAMESPACE: 'paused', SHUTDOWN_TIMEOUT_MS: '3000',
    }), { logger: createLogger('silent') });
  });
  after(async () => {
    server.resume();
    await app?.stop();
    redis?.destroy();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const snapshotId = newId().id;
  const requests: [string, string, object?][] = [
    ['GET', '/v1/tokens'],
    ['GET', '/v1/tokens/PAUSE'],
    ['GET', '/v1/tokens/PAUSE/balances/ops'],
    ['GET', '/v1/tokens/PAUSE/holders'],
    ['POST', '/v1/tokens/PAUSE/transfers', { to: 'bob', amount: '1' }],
    ['GET', '/v1/snapshots'],
    ['GET', `/v1/snapshots/${snapshotId}`],
    ['POST', '/v1/snapshots', { tokenId: '0.0.1234' }],
    ['GET', '/v1/snapshot-schedules'],
    ['GET', '/readyz'],
  ];
  const ask = (method: string, path: string, body?: object) => fetch(`${app.url}${path}`, {
    method, signal: AbortSignal.timeout(hungAfterMs),
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'idempotency-key': `paused-${method}-${path.length}` },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

  it('answers every Redis-backed route 503 UNAVAILABLE within the timeout, and serves again after SIGCONT', async () => {
    for (const [method, path, body] of requests) expect((await ask(method, path, body)).status, `${method} ${path} before`).to.be.below(500);
    server.pause();
    const elapsedMs: string[] = [];
    try {
      const answers = await Promise.all(requests.map(async ([method, path, body]) => {
        const t0 = Date.now();
        const response = await ask(method, path, body);
        elapsedMs.push(`${method} ${path}=${Date.now() - t0}`);
        const json = await response.json() as { error?: { code: string } };
        return `${method} ${path} ${response.status} ${json.error?.code}`;
      }));
      expect(answers).to.deep.equal(requests.map(([method, path]) => `${method} ${path} 503 UNAVAILABLE`));
    } finally {
      server.resume();
    }
    console.log(`      [faults] REST on a paused Redis (reply timeout ${commandTimeoutMs} ms), ms to 503: ${elapsedMs.join(' ')}`);
    for (const [method, path, body] of requests) expect((await ask(method, path, body)).status, `${method} ${path} after`).to.be.below(500);
  });

  it('fails every snapshot store call with an UNAVAILABLE error instead of hanging', async () => {
    const store = createRedisSnapshotStore({ redis, keyPrefix: 'paused:store:' });
    const record = await store.create({ tokenId: '0.0.1', network: 'testnet', requestedTimestamp: null, requestedBy: 'ops' });
    const calls: [string, () => Promise<unknown>][] = [
      ['ping', () => store.ping()],
      ['create', () => store.create({ tokenId: '0.0.1', network: 'testnet', requestedTimestamp: null, requestedBy: 'ops' })],
      ['get', () => store.get(record.snapshotId)],
      ['list', () => store.list({ limit: 10 })],
      ['update', () => store.update(record.snapshotId, { status: 'running' })],
    ];
    server.pause();
    try {
      const outcomes = await Promise.all(calls.map(async ([name, call]) => {
        const error = await call().then(() => null, (e: unknown) => e);
        return `${name} ${error === null ? 'answered' : classifyError(error).code}`;
      }));
      expect(outcomes).to.deep.equal(calls.map(([name]) => `${name} UNAVAILABLE`));
    } finally {
      server.resume();
    }
    expect((await store.get(record.snapshotId))?.status).to.equal('queued');
  });
});
