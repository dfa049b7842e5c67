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

    it('moves balances below 2^53 that library 1.0 ranked in token:{SYM}:rank to rank:small', async () => {
      const sym = 'OLDRANK';
      await ledger.init(redis, sym, { name: 'Old', decimals: 0, totalSupply: (2n ** 60n).toString(), treasury: 't' });
      // Rewrite the token as library 1.0 left it: every balance in the lex rank.
      const complement = (d: string) => d.replace(/\d/g, (c) => String(9 - Number(c)));
      const member = (account: string, balance: bigint) => `${String(99 - String(balance).length).padStart(2, '0')}${complement(String(balance))}:${account}`;
      const balances: [string, bigint][] = [['t', 2n ** 60n - 2n ** 53n - 1_500n], ['whale', 2n ** 53n], ['a', 1_000n], ['b', 500n], ['c', 500n]];
      await redis.del([`token:{${sym}}:rank`, `token:{${sym}}:rank:small`]);
      for (const [account, balance] of balances) {
        await redis.hSet(`token:{${sym}}:balances`, account, balance.toString());
        await redis.zAdd(`token:{${sym}}:rank`, { score: 0, value: member(account, balance) });
      }
      const { default: rankSmall, decodeRankMember } = await import('../../migrations/0002-rank-small.ts');
      expect(decodeRankMember(member('x.y', 123n))).to.deep.equal({ account: 'x.y', balance: 123n });
      await rankSmall.up(redis);
      expect(await redis.zCard(`token:{${sym}}:rank`)).to.equal(2);
      expect(await redis.zRangeWithScores(`token:{${sym}}:rank:small`, 0, -1)).to.deep.equal([
        { value: 'a', score: -1000 }, { value: 'b', score: -500 }, { value: 'c', score: -500 }]);
      expect((await ledger.top(redis, sym, 10)).map((h) => h.account)).to.deep.equal(['t', 'whale', 'a', 'b', 'c']);
      await rankSmall.up(redis); // again: nothing left to move
      expect(await redis.zCard(`token:{${sym}}:rank:small`)).to.equal(3);
      await ledger.transfer(redis, sym, { from: 'whale', to: 'c', amount: '1' }); // whale drops below 2^53
      expect(await ledger.top(redis, sym, 10)).to.deep.equal([
        { account: 't', balance: (2n ** 60n - 2n ** 53n - 1_500n).toString() }, { account: 'whale', balance: (2n ** 53n - 1n).toString() },
        { account: 'a', balance: '1000' }, { account: 'c', balance: '501' }, { account: 'b', balance: '500' }]);
      expect(await redis.zCard(`token:{${sym}}:rank`)).to.equal(1);
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
