// Migrations: applied in order, recorded once, re-running is a no-op, a changed library source
// reloads; on a 3-master cluster the library is loaded on every master and tokens whose keys land
// on different masters all work through the cluster client.
import { expect } from 'chai';
import type { RedisClusterType } from 'redis';
import { connect, connectCluster } from '../../testkit/clients.ts';
import { type RedisClusterHandle, type RedisServer, startCluster, startRedis } from '../../testkit/redis-server.ts';
import { loadMigrations, migrate, type Migration } from '../../src/migrate/migrations.ts';
import { librarySource } from '../../src/ledger/library.ts';
import * as ledger from '../../src/ledger/functions.ts';
import type { RedisConnection } from '../../src/connections.ts';
import { auditToken, rankMember } from '../../src/ledger/audit.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { tokenKeys } from '../../src/ledger/keys.ts';
import { upgradeToken } from '../../migrations/0003-rank-layout-2.ts';
import { dumpToken } from '../../testkit/ledger-state.ts';
import { seededFractions } from '../../testkit/random.ts';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep } from '../../testkit/wait.ts';

/** The top `limit` of a balances hash, by balance descending, then account ascending. */
function sortedTop(balances: Record<string, string>, limit: number): { account: string; balance: string }[] {
  return Object.entries(balances).map(([account, balance]) => ({ account, balance: String(balance) }))
    .sort((x, y) => { const d = BigInt(y.balance) - BigInt(x.balance); return d !== 0n ? (d > 0n ? 1 : -1) : (x.account < y.account ? -1 : x.account > y.account ? 1 : 0); })
    .slice(0, limit);
}

describe('migrations', function () {
  this.timeout(60_000);

  describe('on a standalone server', () => {
    let server: RedisServer;
    let redis: RedisConnection;
    before(async () => {
      server = await startRedis();
      redis = await connect(server.url);
    });
    after(async () => { redis.destroy(); await server.stop(); });

    it('applies each migration once and records it', async () => {
      const first = await migrate(redis);
      expect(first.map((r) => r.applied)).to.deep.equal(first.map(() => true));
      expect(first[0]!.id).to.equal('0001-ledger-library');
      const again = await migrate(redis);
      expect(again.map((r) => r.applied)).to.deep.equal(again.map(() => false));
      const recorded = await redis.hGetAll('tally:migrations');
      expect(Object.keys(recorded).sort()).to.deep.equal(first.map((r) => r.id));
      expect(await ledger.version(redis)).to.match(/^\d+\.\d+\.\d+$/);
    });

    it('applies a checksummed migration again when its checksum changes, others never', async () => {
      let runs = 0;
      let checksum = 'a';
      const list: Migration[] = [
        { id: '9001-reloadable', description: 'x', checksum: () => checksum, up: async () => { runs++; } },
        { id: '9002-once', description: 'y', up: async () => { runs += 100; } },
      ];
      await migrate(redis, list);
      await migrate(redis, list);
      expect(runs).to.equal(101);
      checksum = 'b';
      await migrate(redis, list);
      expect(runs).to.equal(102);
    });

    it('stops at a failing migration without recording it', async () => {
      const list: Migration[] = [{ id: '9003-broken', description: 'z', up: async () => { throw new Error('boom'); } }];
      let caught: unknown;
      try { await migrate(redis, list); } catch (error) { caught = error; }
      expect((caught as Error).message).to.equal('boom');
      expect(await redis.hExists('tally:migrations', '9003-broken')).to.equal(0);
    });

    it('moves a token library 1.0 left (every balance in rank) to layout 2 under live traffic, and it audits clean', async function () {
      this.timeout(120_000);
      const sym = uniqueSymbol('UP');
      const keys = tokenKeys(sym);
      await ledger.init(redis, sym, { name: 'Old', decimals: 18, totalSupply: (2n ** 80n).toString(), treasury: 't' });
      const fraction = seededFractions(7);
      const rng = (n: number) => Math.floor(fraction() * n);
      const holders = Array.from({ length: 3_000 }, (_, i) => `h${i}`);
      for (let i = 0; i < holders.length; i += 1_000) {
        await ledger.transferBatch(redis, sym, { legs: holders.slice(i, i + 1_000).map((to, j) => ({
          from: 't', to, amount: (j % 50 === 0 ? 2n ** 53n + BigInt(rng(1e9)) : BigInt(1 + rng(1e12))).toString() })) });
      }
      // Rewrite the ranking as library 1.0 left it: every balance in the lex rank, no flag.
      const balances = await redis.hGetAll(keys.balances);
      await redis.del([keys.rank, keys.rankSmall]);
      await redis.hDel(keys.token, 'rankLayout');
      const members = Object.entries(balances).map(([account, balance]) => ({ score: 0, value: rankMember(account, String(balance)) }));
      for (let i = 0; i < members.length; i += 1_000) await redis.zAdd(keys.rank, members.slice(i, i + 1_000));
      expect(await ledger.top(redis, sym, 1_000), 'library 2.0 ranks the old layout exactly').to.deep.equal(sortedTop(await redis.hGetAll(keys.balances), 1_000));

      // Traffic (transfers among small and big holders, burns, batches) from four loops, while
      // the upgrade runs step by step with a pause between steps, as a paced migration would.
      let running = true;
      let calls = 0;
      const loop = async () => {
        while (running) {
          const a = holders[rng(holders.length)]!;
          const b = holders[rng(holders.length)]!;
          const kind = rng(3);
          const call = kind === 0 ? ledger.transfer(redis, sym, { from: a, to: a === b ? 't' : b, amount: String(1 + rng(1000)) })
            : kind === 1 ? ledger.burn(redis, sym, { account: a, amount: '1' })
              : ledger.transferBatch(redis, sym, { legs: [{ from: a, to: 't', amount: '2' }, { from: 't', to: b, amount: String(2n ** 53n) }] });
          await call.catch((error: LedgerError) => { if (error.code !== 'INSUFFICIENT_FUNDS') throw error; });
          calls++;
        }
      };
      const traffic = Promise.all([loop(), loop(), loop(), loop()]);
      let upgraded = 0;
      let callsDuring = 0;
      try {
        for (let step = 0; step < 20; step++) {
          const before = calls;
          const result = await ledger.upgradeStep(redis, sym);
          upgraded += result.moved;
          await sleep(30);
          callsDuring += calls - before;
          if (result.done) break;
        }
      } finally {
        running = false;
        await traffic;
      }
      expect(callsDuring, 'calls between the upgrade steps').to.be.greaterThan(20);
      expect(upgraded, 'members moved by ledger_upgrade').to.be.greaterThan(2_000);
      expect(await redis.hGet(keys.token, 'rankLayout')).to.equal('2');
      expect(await redis.zRangeByLex(keys.rank, '[830992800745259008', '+'), 'no small balance left in rank').to.deep.equal([]);
      const report = await auditToken(redis, sym);
      expect(report.violations).to.deep.equal([]);
      expect(report.ok).to.equal(true);
      expect(await ledger.top(redis, sym, 1_000)).to.deep.equal(sortedTop(await redis.hGetAll(keys.balances), 1_000));
      expect(await upgradeToken(redis, sym), 'again: nothing to move').to.equal(0);
    });

    it('reloads the library (0001) under live traffic: no call fails, and the token audits clean', async () => {
      const sym = uniqueSymbol('RELOAD');
      await ledger.init(redis, sym, { name: 'Reload', decimals: 0, totalSupply: String(2n ** 90n), treasury: 't' });
      let running = true;
      let calls = 0;
      const loop = async () => {
        while (running) {
          const i = calls++;
          await ledger.transfer(redis, sym, { from: 't', to: `r${i % 50}`, amount: String(i % 3 === 0 ? 2n ** 53n : 7n), opId: `reload-${i}` });
        }
      };
      const traffic = Promise.all([loop(), loop(), loop()]);
      try {
        for (let round = 0; round < 5; round++) {
          await redis.hDel('tally:migrations', '0001-ledger-library');
          const results = await migrate(redis);
          expect(results.find((r) => r.id === '0001-ledger-library')?.applied).to.equal(true);
          await sleep(20);
        }
      } finally {
        running = false;
        await traffic;
      }
      expect(calls, 'transfers ran across the reloads').to.be.greaterThan(20);
      expect((await auditToken(redis, sym)).violations).to.deep.equal([]);
    });

    it('upgrades a library 1.1 token (layout 2 without the flag) at once, and 0002 is a no-op', async () => {
      const sym = uniqueSymbol('ELEVEN');
      await ledger.init(redis, sym, { name: 'Eleven', decimals: 0, totalSupply: (2n ** 60n).toString(), treasury: 't' });
      await ledger.transfer(redis, sym, { from: 't', to: 'a', amount: '5' });
      await redis.hDel(tokenKeys(sym).token, 'rankLayout');
      const before = await dumpToken(redis, sym);
      const { default: superseded } = await import('../../migrations/0002-rank-small.ts');
      await superseded.up();
      expect(await dumpToken(redis, sym), '0002 changes nothing').to.deep.equal(before);
      expect(await ledger.upgradeStep(redis, sym)).to.deep.equal({ moved: 0, done: true });
      expect(await redis.hGet(tokenKeys(sym).token, 'rankLayout')).to.equal('2');
      expect((await auditToken(redis, sym)).ok).to.equal(true);
    });

    it('finds the migration files in order', async () => {
      const ids = (await loadMigrations()).map((m) => m.id);
      expect(ids).to.deep.equal([...ids].sort());
      expect(ids[0]).to.equal('0001-ledger-library');
    });
  });

  describe('on a 3-master cluster', () => {
    let cluster: RedisClusterHandle;
    let redis: RedisClusterType;
    before(async function () {
      this.timeout(60_000);
      cluster = await startCluster(3);
      redis = await connectCluster(cluster.rootNodes);
    });
    after(async () => { await redis?.close(); await cluster?.stop(); });

    it('loads the library on every master', async () => {
      await migrate(redis);
      for (const node of cluster.nodes) {
        const client = await connect(node.url);
        const libraries = await client.sendCommand(['FUNCTION', 'LIST', 'LIBRARYNAME', 'ledger', 'WITHCODE']) as unknown[];
        client.destroy();
        expect(libraries, `no ledger library on ${node.url}`).to.have.length(1);
        expect(JSON.stringify(libraries)).to.include('ledger_transfer');
      }
      expect(librarySource()).to.match(/^#!lua name=ledger\n/);
    });

    it('serves tokens whose keys land on every master', async () => {
      // Pick symbols until each master owns at least one token key.
      const owners = new Map<string, string>();
      for (let i = 0; owners.size < 3 && i < 200; i++) {
        const sym = `CL${i}`;
        const slot = Number(await redis.sendCommand(`token:{${sym}}`, true, ['CLUSTER', 'KEYSLOT', `token:{${sym}}`]));
        const master = cluster.nodes[Math.min(2, Math.floor(slot / Math.ceil(16384 / 3)))]!.url;
        if (![...owners.values()].includes(master)) owners.set(sym, master);
      }
      expect(owners.size).to.equal(3);
      for (const sym of owners.keys()) {
        expect(await ledger.init(redis, sym, { name: sym, decimals: 2, totalSupply: '1000', treasury: 't' })).to.equal('created');
        const receipt = await ledger.transfer(redis, sym, { from: 't', to: 'u', amount: '10', opId: 'x1' });
        expect(receipt).to.include({ fromBalance: '990', toBalance: '10' });
        await ledger.transferBatch(redis, sym, { legs: [{ from: 't', to: 'v', amount: '5' }, { from: 'u', to: 'v', amount: '5' }] });
        await ledger.burn(redis, sym, { account: 'v', amount: '10' });
        expect(await ledger.top(redis, sym, 10)).to.deep.equal([{ account: 't', balance: '985' }, { account: 'u', balance: '5' }]);
        expect((await ledger.events(redis, sym, { count: 10, account: 'v' })).events.map((e) => e.type)).to.deep.equal(['batch', 'burn']);
      }
    });
  });
});
