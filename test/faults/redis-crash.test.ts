// kill -9 of the Redis server under load, 20 times (FAULTS_QUICK=1: 5), with AOF and
// `appendfsync always`: Redis replies only after the write is fsynced, so every acknowledged
// operation must survive every crash, exactly once. Between kills the load is stopped and the
// token audited (test/faults/ledger-load.ts): every acknowledged operation in the log once,
// under its eventId, its opId replaying the recorded reply; one log entry per applied operation;
// balances equal to what the log implies, summing to circulatingSupply.
//
// Also run with `appendfsync everysec`, to show what the README says: a crash of the Redis
// process alone loses nothing acknowledged there either (the write reached the kernel before
// the reply); only a crash of the machine can lose the last second or two, which no test here
// can cause.
import { expect } from 'chai';
import { readdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import * as ledger from '../../src/ledger/functions.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import { connectRedis, type RedisConnection } from '../../src/connections.ts';
import { type RedisServer, startRedis } from '../../testkit/redis-server.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep, until } from '../../testkit/wait.ts';
import { tokenKeys } from '../../src/ledger/keys.ts';
import { auditToken, createLoad } from './ledger-load.ts';
import { quick, report } from './support.ts';

const accounts = Array.from({ length: 24 }, (_, i) => `acct-${i}`);
const treasury = 'treasury';

async function crashRun(appendfsync: 'always' | 'everysec', kills: number) {
  const server: RedisServer = await startRedis({ appendfsync });
  // The client the API uses: reconnects forever, no offline queue, a command timeout.
  const redis: RedisConnection = await connectRedis({ url: server.url, commandTimeoutMs: 1_000 });
  const startedMs = Date.now();
  let downMsTotal = 0;
  try {
    await migrate(redis);
    const symbol = uniqueSymbol('CR');
    await ledger.init(redis, symbol, { name: 'Crash', decimals: 18, totalSupply: '1'.padEnd(40, '0'), treasury });
    const load = createLoad({ redis, symbols: [symbol], accounts, treasury, concurrency: 16, prefix: `${appendfsync}-${symbol}`, opDeadlineMs: 20_000 });
    let figures = await auditToken(redis, symbol, load.journal);
    for (let kill = 1; kill <= kills; kill++) {
      load.start();
      await sleep(100 + Math.random() * 300); // kill at a random point of the load
      await server.kill9();
      const downMs = 50 + Math.random() * 300;
      await sleep(downMs);
      await server.restart();
      downMsTotal += downMs;
      await sleep(150); // the load runs on through the recovery, retrying
      await load.stop();
      await until(() => redis.isReady, { what: 'the client to reconnect', timeoutMs: 10_000 });
      figures = await auditToken(redis, symbol, load.journal);
      expect(figures.lost, `acknowledged operations lost after kill ${kill}`).to.equal(0);
    }
    return { ...figures, kills, downMsTotal: Math.round(downMsTotal), seconds: Math.round((Date.now() - startedMs) / 100) / 10 };
  } finally {
    redis.destroy();
    await server.stop();
  }
}

describe('faults: kill -9 of Redis under load', function () {
  this.timeout(240_000);

  it(`loses nothing acknowledged with appendfsync always (${quick ? 5 : 20} kills)`, async () => {
    const figures = await crashRun('always', quick ? 5 : 20);
    report('redis kill -9, appendfsync always', figures);
    expect(figures.acknowledged).to.be.greaterThan(100 * figures.kills);
    expect(figures.lost).to.equal(0);
  });

  it(`loses nothing acknowledged with appendfsync everysec either, as long as only the process dies (${quick ? 2 : 3} kills)`, async () => {
    const figures = await crashRun('everysec', quick ? 2 : 3);
    report('redis kill -9, appendfsync everysec', figures);
    expect(figures.lost).to.equal(0);
  });

  it('leaves no part of a call whose MULTI/EXEC block a crash cut short (redis-check-aof --fix before each restart)', async () => {
    // What kill -9 can leave in the AOF: a function call's block written only up to the middle of
    // a command. Here: the transfer that takes acct-6 below 2^53, cut right after its ZADD on
    // rank:small. Without the repair, Redis 7.0 keeps MULTI, ZREM rank, HSET, ZADD rank:small in
    // the file and runs them at the restart after the next write: acct-6 ends up in both rank
    // sets and twice in ledger_top.
    const server = await startRedis({ appendfsync: 'always' });
    let redis = await connectRedis({ url: server.url, commandTimeoutMs: 2_000 });
    const reconnect = async () => {
      redis.destroy();
      await server.restart();
      redis = await connectRedis({ url: server.url, commandTimeoutMs: 2_000 });
    };
    try {
      await migrate(redis);
      const symbol = uniqueSymbol('CUT');
      const keys = tokenKeys(symbol);
      await ledger.init(redis, symbol, { name: 'Cut', decimals: 0, totalSupply: '1'.padEnd(22, '0'), treasury });
      await ledger.transfer(redis, symbol, { from: treasury, to: 'acct-6', amount: '1'.padEnd(18, '0'), opId: 'cut-1' });
      await ledger.transfer(redis, symbol, { from: 'acct-6', to: 'acct-7', amount: '99999999999999000', opId: 'cut-2' });
      await server.kill9();

      const aofDir = join(server.dir, 'appendonlydir');
      const incr = join(aofDir, readdirSync(aofDir).filter((f) => f.endsWith('.incr.aof')).sort().at(-1)!);
      const aof = readFileSync(incr, 'latin1');
      const block = aof.lastIndexOf('*1\r\n$5\r\nMULTI\r\n');
      const zadd = aof.indexOf(`$4\r\nZADD\r\n$${keys.rank.length + 6}\r\n${keys.rank}:small\r\n`, block);
      const next = aof.indexOf('\r\n*', zadd) + 2;
      expect(block, 'the AOF holds the transfer as a MULTI/EXEC block').to.be.greaterThan(0);
      expect(zadd, 'with a ZADD on rank:small').to.be.greaterThan(block);
      truncateSync(incr, next + 10); // a short write: the command after the ZADD is cut mid-way
      await reconnect();
      expect(await ledger.balance(redis, symbol, 'acct-6')).to.equal('1'.padEnd(18, '0'));

      await ledger.transfer(redis, symbol, { from: treasury, to: 'acct-6', amount: '5'.padEnd(19, '0'), opId: 'cut-3' });
      await server.kill9();
      await reconnect();
      expect(await redis.zRange(`${keys.rank}:small`, 0, -1), 'rank:small').to.deep.equal([]);
      expect(await ledger.top(redis, symbol, 10)).to.deep.equal([
        { account: treasury, balance: '994900000000000000000' },
        { account: 'acct-6', balance: '5100000000000000000' },
      ]);
    } finally {
      redis.destroy();
      await server.stop();
    }
  });

  it('has an audit that notices a lost and a doubled operation (so the figures above can fail)', async () => {
    const redis = await connectRedis({ url: sharedRedisUrl() });
    try {
      const symbol = uniqueSymbol('AU');
      await ledger.init(redis, symbol, { name: 'Audit', decimals: 0, totalSupply: '1'.padEnd(30, '0'), treasury });
      const load = createLoad({ redis, symbols: [symbol], accounts, treasury, concurrency: 4, prefix: `audit-${symbol}`, opDeadlineMs: 1_000 });
      load.start();
      await sleep(100);
      await load.stop();
      const clean = await auditToken(redis, symbol, load.journal);
      expect(clean.acknowledged).to.be.greaterThan(10);
      expect(clean.lost).to.equal(0);

      const log = tokenKeys(symbol).log;
      const last = (await redis.xRevRange(log, '+', '-', { COUNT: 1 }))![0]!;
      const copyId = await redis.xAdd(log, '*', last.message as Record<string, string>); // the same operation twice
      const error = await auditToken(redis, symbol, load.journal).then(() => null, (e: Error) => e);
      expect(error?.message).to.match(/is logged exactly once, under its eventId/);
      await redis.xDel(log, [last.id, copyId]); // now not at all
      const lost = await auditToken(redis, symbol, load.journal);
      expect(lost.lost).to.equal(1);
      expect(lost.found).to.equal(clean.acknowledged - 1);
    } finally {
      redis.destroy();
    }
  });
});
