// ledger_events' cost is bounded by legs examined (250 a call), not by log entries: the worst
// cases (a log of 1,000-leg batches, read filtered by an account in every batch, or by one in
// none, or unfiltered; and a log of 10,000 single transfers, filtered and not) each stay under
// 10 ms of server time per call, read from SLOWLOG on a server of this test's own (calls from
// 1 ms on are logged; commandstats counts them all, so none escapes). Following the cursor
// still finds every leg of the account, and the filtered view holds only that account's legs.
import { expect } from 'chai';
import type { RedisClientType } from 'redis';
import * as ledger from '../../src/ledger/functions.ts';
import { declaredKeys } from '../../src/ledger/keys.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import { connect } from '../../testkit/clients.ts';
import { type RedisServer, startRedis } from '../../testkit/redis-server.ts';

const serverTimeMaxUs = 10_000;
const slowlogFromUs = 1_000;
const batches = 1_000;
const legsPerBatch = 1_000;

describe('ledger_events: bounded server time at every documented limit', function () {
  this.timeout(180_000);
  let server: RedisServer;
  let redis: RedisClientType;

  before(async () => {
    server = await startRedis();
    redis = await connect(server.url);
    await migrate(redis);
    // Not 0: SLOWLOG also logs the commands a script runs, and logging each of them would
    // inflate the time measured.
    await redis.configSet({ 'slowlog-log-slower-than': String(slowlogFromUs), 'slowlog-max-len': '10000' });
  });
  after(async () => { redis?.destroy(); await server?.stop(); });

  const fcallRoCalls = async () => Number(/cmdstat_fcall_ro:calls=(\d+)/.exec(String(await redis.sendCommand(['INFO', 'commandstats'])))?.[1] ?? 0);

  /**
   * Runs the calls; returns how many ledger_events calls ran (commandstats) and the server time
   * (µs) SLOWLOG recorded for each one that took 1 ms or more.
   */
  async function serverTimes(calls: () => Promise<unknown>): Promise<{ calls: number; slow: number[] }> {
    await redis.sendCommand(['SLOWLOG', 'RESET']);
    const before = await fcallRoCalls();
    await calls();
    const ran = await fcallRoCalls() - before;
    const log = await redis.sendCommand(['SLOWLOG', 'GET', '10000']) as [number, number, number, string[]][];
    return { calls: ran, slow: log.filter((entry) => entry[3].map(String).includes('ledger_events')).map((entry) => Number(entry[2])) };
  }

  function report(what: string, times: { calls: number; slow: number[] }): number {
    const worst = Math.max(0, ...times.slow);
    console.log(`      [bounds] ${what}: ${times.calls} calls, ${times.slow.length} of 1 ms or more, worst ${worst} µs server time (SLOWLOG)`);
    return worst;
  }

  const events = (sym: string, args: string[]) => redis.fCallRo('ledger_events', { keys: declaredKeys(sym), arguments: args }) as Promise<[string, string[]][]>;

  it('reads a log of 1,000 batches of 1,000 legs one batch a call, each under 10 ms', async () => {
    const sym = 'BOUNDS';
    await ledger.init(redis, sym, { name: 'Bounds', decimals: 0, totalSupply: String(10n ** 12n), treasury: 't' });
    // Batch i moves 1 from t to r0..r998 and, at leg (i % 1000) + 1, to `hot` instead.
    for (let i = 0; i < batches; i++) {
      const hotAt = i % legsPerBatch;
      const legs = Array.from({ length: legsPerBatch }, (_, j) => ({ from: 't', to: j === hotAt ? 'hot' : `r${j}`, amount: '1' }));
      await ledger.transferBatch(redis, sym, { legs });
    }

    const times = await serverTimes(async () => {
      // Filtered by an account in every batch: each of its legs decoded.
      let after = '-';
      const seen: { n: number; legs: string[][]; indexes: number[] }[] = [];
      for (let call = 0; call < batches + 10; call++) {
        const reply = await events(sym, [after, '1000', 'hot']);
        for (const [, fields] of reply) {
          const map = new Map<string, string>();
          for (let f = 0; f + 1 < fields.length; f += 2) map.set(String(fields[f]), String(fields[f + 1]));
          if (map.get('type') === 'cursor' || map.get('type') === 'init') continue;
          seen.push({ n: Number(map.get('n')), legs: JSON.parse(map.get('legs')!) as string[][], indexes: JSON.parse(map.get('legIndexes')!) as number[] });
        }
        if (reply.length === 0 || reply.at(-1)![1][1] !== 'cursor') break;
        after = String(reply.at(-1)![0]);
      }
      expect(seen, 'every batch, each with only hot\'s leg').to.have.length(batches);
      seen.forEach((batch, i) => {
        expect(batch).to.deep.equal({ n: legsPerBatch, legs: [['t', 'hot', '1']], indexes: [(i % legsPerBatch) + 1] });
      });
      // Filtered by an account in no batch, and unfiltered.
      const none = await events(sym, ['-', '1000', 'nobody']);
      expect(none.at(-1)![1], 'stopped by the leg bound').to.deep.equal(['type', 'cursor']);
      const all = await events(sym, ['-', '1000']);
      expect(all.length, 'init and one batch (past the 250 legs), then the cursor').to.equal(3);
      expect(all.at(-1)![1]).to.deep.equal(['type', 'cursor']);
    });
    expect(times.calls).to.be.at.least(batches);
    expect(report('1,000-leg batches', times)).to.be.below(serverTimeMaxUs);
  });

  it('reads a log of 10,000 single transfers, filtered and not, 250 entries a call, each under 10 ms', async () => {
    const sym = 'SINGLES';
    await ledger.init(redis, sym, { name: 'Singles', decimals: 0, totalSupply: '1000000', treasury: 't' });
    for (let i = 0; i < 10_000; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => ledger.transfer(redis, sym, { from: 't', to: `a${(i + j) % 100}`, amount: '1' })));
    }
    let pages = 0;
    let entries = 0;
    const times = await serverTimes(async () => {
      let after = '-';
      for (; pages < 60; pages++) {
        const reply = await events(sym, [after, '10', 'nobody']);
        if (reply.length === 0) break;
        expect(reply).to.have.length(1);
        after = String(reply[0]![0]);
      }
      for (after = '-'; ;) {
        const reply = await events(sym, [after, '1000']);
        if (reply.length === 0) break;
        entries += reply.filter(([, fields]) => fields[1] !== 'cursor').length;
        after = String(reply.at(-1)![0]);
        if (reply.at(-1)![1][1] !== 'cursor') break;
      }
    });
    expect(pages, '10,001 entries: 40 calls stopped by the bound (250 each), a 41st finds the end').to.equal(40);
    expect(entries, 'unfiltered pages of at most 250 give every entry').to.equal(10_001);
    expect(times.calls).to.be.at.least(pages + 40);
    expect(report('single transfers', times)).to.be.below(serverTimeMaxUs);
  });
});
