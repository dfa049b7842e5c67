// Safe retries: with the server gone for a moment, a transfer with an opId is retried until the
// server is back and applies once; a transfer without one is not retried and fails.
import { expect } from 'chai';
import { type RedisServer, startRedis } from '../../testkit/redis-server.ts';
import { until } from '../../testkit/wait.ts';
import { connectRedis, type RedisConnection } from '../../src/connections.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import * as ledger from '../../src/ledger/functions.ts';
import { isConnectionError, withRetries } from '../../src/ledger/retry.ts';

describe('ledger retries after connection failures', function () {
  this.timeout(30_000);
  let server: RedisServer;
  let redis: RedisConnection;

  before(async () => {
    server = await startRedis({ appendfsync: 'always' });
    redis = await connectRedis({ url: server.url, commandTimeoutMs: 1_000 });
    await migrate(redis);
    await ledger.init(redis, 'R', { name: 'R', decimals: 0, totalSupply: '100', treasury: 't' });
  });
  after(async () => { redis.destroy(); await server.stop(); });

  it('retries a transfer with an opId across a restart and applies it once', async () => {
    await server.kill9();
    setTimeout(() => { void server.restart(); }, 300);
    const receipt = await ledger.transfer(redis, 'R', { from: 't', to: 'u', amount: '10', opId: 'retry-1' });
    expect(receipt).to.include({ fromBalance: '90', toBalance: '10' });
    const again = await ledger.transfer(redis, 'R', { from: 't', to: 'u', amount: '10', opId: 'retry-1' });
    expect(again).to.deep.equal(receipt);
    expect(await ledger.balance(redis, 'R', 'u')).to.equal('10');
  });

  it('does not retry a transfer without an opId', async () => {
    await server.kill9();
    let caught: unknown;
    try { await ledger.transfer(redis, 'R', { from: 't', to: 'u', amount: '1' }); } catch (error) { caught = error; }
    expect(isConnectionError(caught), String(caught)).to.equal(true);
    await server.restart();
    await until(() => redis.isReady, { what: 'the client to reconnect', timeoutMs: 5_000, stepMs: 50 });
    expect(await ledger.balance(redis, 'R', 'u')).to.equal('10');
  });

  it('stops after the bounded number of attempts', async () => {
    let attempts = 0;
    const failing = () => { attempts++; return Promise.reject(Object.assign(new Error('Socket closed unexpectedly'), { name: 'SocketClosedUnexpectedlyError' })); };
    let caught: unknown;
    try { await withRetries(failing, true, { attemptsMax: 4, transientAttemptsMax: 4, firstDelayMs: 1, delayMaxMs: 2 }); } catch (error) { caught = error; }
    expect(attempts).to.equal(4);
    expect((caught as Error).name).to.equal('SocketClosedUnexpectedlyError');
    attempts = 0;
    await withRetries(failing, false).catch(() => {});
    expect(attempts).to.equal(1);
  });
});
