// The declared form of the ledger functions' KEYS (docs/ledger-functions.md, Keys), the checks
// that keep a call from writing half of what it would, and what Redis Cluster does with a call
// while the token's slot is half migrated: redirected or refused as a whole, never half applied.
import { expect } from 'chai';
import type { RedisClientType, RedisClusterType } from 'redis';
import * as ledger from '../../src/ledger/functions.ts';
import { declaredKeys, tokenKeys } from '../../src/ledger/keys.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import { connect, connectCluster } from '../../testkit/clients.ts';
import { dumpToken } from '../../testkit/ledger-state.ts';
import { type RedisClusterHandle, startCluster } from '../../testkit/redis-server.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep } from '../../testkit/wait.ts';

const big = (2n ** 60n).toString();
const token = { name: 'Declared', decimals: 18, totalSupply: (2n ** 70n).toString(), treasury: 'treasury' };

/** A raw FCALL's error message, or null when it succeeded. */
async function rawError(run: () => Promise<unknown>): Promise<string | null> {
  try { await run(); return null; } catch (error) { return (error as Error).message; }
}

describe('ledger declared keys (standalone)', () => {
  let redis: RedisClientType;
  let sym: string;
  before(async () => { redis = await connect(sharedRedisUrl()); });
  after(() => { redis.destroy(); });
  beforeEach(async () => {
    sym = uniqueSymbol('D');
    await ledger.init(redis, sym, token);
    await ledger.transfer(redis, sym, { from: 'treasury', to: 'whale', amount: big });
    await ledger.transfer(redis, sym, { from: 'treasury', to: 'small', amount: '5' });
  });

  const fcall = (keys: string[], fn: string, ...args: string[]) => redis.fCall(fn, { keys, arguments: args });

  async function expectRefused(code: string, keys: string[], fn: string, args: string[], message?: RegExp): Promise<void> {
    const before = await dumpToken(redis, sym);
    const error = await rawError(() => fcall(keys, fn, ...args));
    expect(error, `${fn} ${keys.join(' ')}`).to.match(new RegExp(`^${code} `));
    if (message) expect(error).to.match(message);
    expect(await dumpToken(redis, sym), 'nothing changed').to.deep.equal(before);
  }

  it('answers every function in the declared form as in the one-key form', async () => {
    const one = [tokenKeys(sym).token];
    const all = declaredKeys(sym);
    for (const [fn, args] of [['ledger_info', []], ['ledger_balance', ['whale']], ['ledger_supply', []], ['ledger_top', ['10']],
      ['ledger_events', ['-', '10']], ['ledger_events', ['-', '10', 'small']], ['ledger_version', []]] as [string, string[]][]) {
      expect(await redis.fCallRo(fn, { keys: all, arguments: args }), fn).to.deep.equal(await redis.fCallRo(fn, { keys: one, arguments: args }));
    }
    const viaOne = await fcall(one, 'ledger_transfer', 'whale', 'a', '3') as string[];
    const viaAll = await fcall(all, 'ledger_transfer', 'whale', 'b', '3') as string[];
    expect(viaAll[2]).to.equal(viaOne[2]);
    const withOp = await fcall(declaredKeys(sym, 'op-1'), 'ledger_transfer', 'whale', 'b', '3', 'op-1') as string[];
    expect(await fcall(declaredKeys(sym, 'op-1'), 'ledger_transfer', 'whale', 'b', '3', 'op-1')).to.deep.equal(withOp);
    expect(await fcall(one, 'ledger_transfer', 'whale', 'b', '3', 'op-1'), 'one op record, whichever form').to.deep.equal(withOp);
    await fcall(declaredKeys(sym, 'op-2'), 'ledger_burn', 'b', '1', 'op-2');
    await fcall(declaredKeys(sym, 'op-3'), 'ledger_transfer_batch', 'op-3', '2', 'whale', 'c', '1', 'c', 'd', '1');
    await fcall(declaredKeys(sym), 'ledger_transfer_batch', '-', '1', 'whale', 'c', '1');
    expect(await ledger.balance(redis, sym, 'b')).to.equal('5');
    expect(await ledger.balance(redis, sym, 'c')).to.equal('1');
  });

  it('refuses any other keys with INVALID_TOKEN naming the declared form, writing nothing', async () => {
    const all = declaredKeys(sym);
    const other = declaredKeys(uniqueSymbol('O'));
    const cases: [string, string[], RegExp?][] = [
      ['two keys', all.slice(0, 2), /expected KEYS = 5 token:\{/],
      ['four keys', all.slice(0, 4)],
      ['seven keys', [...declaredKeys(sym, 'x'), 'extra']],
      ['keys out of order', [all[0]!, all[2]!, all[1]!, all[3]!, all[4]!], /KEYS\[2\] must be token:\{\w+\}:balances/],
      ['another token\'s key', [all[0]!, other[1]!, all[2]!, all[3]!, all[4]!]],
      ['an op key without an opId', declaredKeys(sym, 'x'), /KEYS\[6\] is only declared with an opId/],
      ['a bad first key', ['token:{lower}', ...all.slice(1)], /KEYS\[1\] must be token:\{SYM\}/],
    ];
    for (const [what, keys, message] of cases) {
      await expectRefused('INVALID_TOKEN', keys, 'ledger_transfer', ['whale', 'a', '1'], message).catch((error: Error) => { throw new Error(`${what}: ${error.message}`); });
    }
    await expectRefused('INVALID_TOKEN', all, 'ledger_transfer', ['whale', 'a', '1', 'op-9'], /with opId op-9, KEYS\[6\] must be token:\{\w+\}:op:op-9/);
    await expectRefused('INVALID_TOKEN', declaredKeys(sym, 'op-8'), 'ledger_transfer', ['whale', 'a', '1', 'op-9']);
    await expectRefused('INVALID_TOKEN', declaredKeys(sym, 'op-8'), 'ledger_burn', ['whale', '1', 'op-9']);
    await expectRefused('INVALID_TOKEN', declaredKeys(sym, 'op-8'), 'ledger_transfer_batch', ['op-9', '1', 'whale', 'a', '1']);
    await expectRefused('INVALID_TOKEN', declaredKeys(sym, 'x'), 'ledger_balance', ['whale']);
  });

  it('fails with nothing changed when any derived key holds the wrong type', async () => {
    const keys = tokenKeys(sym);
    const planted: [string, () => Promise<unknown>][] = [
      [keys.balances, () => redis.set(keys.balances, 'not a hash')],
      [keys.rank, () => redis.set(keys.rank, 'not a zset')],
      [keys.rankSmall, () => redis.hSet(keys.rankSmall, 'x', '1')],
      [keys.log, () => redis.set(keys.log, 'not a stream')],
      [`${keys.token}:op:op-w`, () => redis.hSet(`${keys.token}:op:op-w`, 'x', '1')],
    ];
    // Each burn and batch under an opId of its own; the transfers share op-w (the planted record).
    let opCounter = 0;
    const writes = (): [string, string[], string[]][] => {
      const burnOp = `op-b${++opCounter}`;
      const batchOp = `op-t${opCounter}`;
      return [
        ['ledger_transfer', ['whale', 'small', '1', 'op-w'], declaredKeys(sym, 'op-w')],
        ['ledger_transfer', ['small', 'whale', '1'], declaredKeys(sym)],
        ['ledger_burn', ['whale', '1', burnOp], declaredKeys(sym, burnOp)],
        ['ledger_transfer_batch', [batchOp, '2', 'whale', 'small', '1', 'small', 'n', '2'], declaredKeys(sym, batchOp)],
      ];
    };
    for (const [key, plant] of planted) {
      const saved = `saved:${key}`;
      const existed = await redis.exists(key) === 1;
      if (existed) await redis.rename(key, saved);
      await plant();
      let refused = 0;
      for (const [fn, args, declared] of writes()) {
        for (const form of [declared, [keys.token]]) {
          const before = await dumpToken(redis, sym);
          const error = await rawError(() => fcall(form, fn, ...args));
          // A call that does not write the planted key (a small holder's set when only big
          // balances move, another call's op record) runs, and leaves that key as planted.
          if (error === null) {
            expect((await dumpToken(redis, sym))[key], `${fn} ran with ${key} planted, without touching it`).to.deep.equal(before[key]);
            continue;
          }
          refused++;
          expect(error, `${fn} with ${key} planted`).to.match(/^WRONGTYPE /);
          expect(await dumpToken(redis, sym), `${fn} with ${key} planted changed nothing`).to.deep.equal(before);
        }
      }
      expect(refused, `calls refused with ${key} planted`).to.be.at.least(2);
      await redis.del(key);
      if (existed) await redis.rename(saved, key);
    }
    // init of a new token whose balances key already holds a string writes nothing either.
    const fresh = uniqueSymbol('W');
    await redis.set(tokenKeys(fresh).balances, 'x');
    const error = await rawError(() => redis.fCall('ledger_init', { keys: [tokenKeys(fresh).token], arguments: ['W', '0', '10', 't'] }));
    expect(error).to.match(/^WRONGTYPE /);
    expect(await redis.exists(tokenKeys(fresh).token)).to.equal(0);
    expect(await redis.exists(tokenKeys(fresh).log)).to.equal(0);
  });

  it('refuses a re-init with another opTtlSeconds (TOKEN_EXISTS) and repeats one with the same', async () => {
    expect(await ledger.init(redis, sym, { ...token, opTtlSeconds: 86_400 })).to.equal('exists');
    const error = await ledger.init(redis, sym, { ...token, opTtlSeconds: 60 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(LedgerError).and.have.property('code', 'TOKEN_EXISTS');
    expect((await ledger.info(redis, sym)).opTtlSeconds).to.equal(86_400);
    const short = uniqueSymbol('S');
    await ledger.init(redis, short, { ...token, opTtlSeconds: 60 });
    expect(await ledger.init(redis, short, { ...token, opTtlSeconds: 60 })).to.equal('exists');
    expect(await ledger.init(redis, short, token).catch((e: LedgerError) => e.code)).to.equal('TOKEN_EXISTS');
  });

  it('checks a batch code by code across all legs (the precedence of docs/ledger-functions.md)', async () => {
    const batch = (...legs: string[][]) => ledger.transferBatch(redis, sym, { legs: legs.map(([from, to, amount]) => ({ from: from!, to: to!, amount: amount! })) })
      .then(() => 'ok', (error: LedgerError) => error.code);
    expect(await batch(['whale', 'whale', '1'], ['whale', 'bad/account', '1'])).to.equal('INVALID_ACCOUNT');
    expect(await batch(['whale', 'whale', '1'], ['whale', 'a', '0'])).to.equal('INVALID_AMOUNT');
    expect(await batch(['whale', 'a', '1x'], ['bad/account', 'a', '1'])).to.equal('INVALID_ACCOUNT');
    expect(await batch(['whale', 'a', '1'], ['a', 'a', '1'])).to.equal('SAME_ACCOUNT');
  });
});

describe('ledger declared keys (Redis Cluster, a slot half migrated)', function () {
  this.timeout(120_000);
  let cluster: RedisClusterHandle;
  let redis: RedisClusterType;
  let nodes: RedisClientType[];
  const nodeIds: string[] = [];

  before(async () => {
    cluster = await startCluster(3);
    redis = await connectCluster(cluster.rootNodes);
    await migrate(redis);
    nodes = await Promise.all(cluster.nodes.map((n) => connect(n.url)));
    for (const node of nodes) nodeIds.push(String(await node.sendCommand(['CLUSTER', 'MYID'])));
  });
  after(async () => {
    nodes?.forEach((n) => n.destroy());
    redis?.destroy();
    await cluster?.stop();
  });

  async function ownerOf(sym: string): Promise<{ slot: number; index: number }> {
    const slot = Number(await nodes[0]!.sendCommand(['CLUSTER', 'KEYSLOT', tokenKeys(sym).token]));
    return { slot, index: Math.floor(slot / Math.ceil(16384 / nodes.length)) };
  }

  /** A command on one node, ASKING first (what a client does after -ASK): the reply or the error. */
  async function asking(node: RedisClientType, command: string[]): Promise<unknown> {
    await node.sendCommand(['ASKING']);
    return node.sendCommand(command).catch((error: Error) => error);
  }

  /** DUMP of each key on a node (ASKING first, so an importing node answers too); null when absent. */
  async function dumps(node: RedisClientType, keys: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const key of keys) {
      const value = await asking(node, ['DUMP', key]);
      out.push(value instanceof Error ? value.message.split(' ')[0]! : value === null ? 'nil' : Buffer.from(value as string).toString('hex'));
    }
    return out;
  }

  it('refuses the one-key form on a cluster with INVALID_TOKEN naming the declared form', async () => {
    const sym = uniqueSymbol('C');
    await ledger.init(redis, sym, token);
    const error = await rawError(() => redis.fCall('ledger_transfer', { keys: [tokenKeys(sym).token], arguments: ['treasury', 'a', '1'] }));
    expect(error).to.match(/^INVALID_TOKEN on Redis Cluster declare every key the function touches: KEYS = 5 token:\{\w+\} token:\{\w+\}:balances token:\{\w+\}:rank token:\{\w+\}:rank:small token:\{\w+\}:log/);
    expect(await ledger.balance(redis, sym, 'treasury')).to.equal(token.totalSupply);
    expect(await rawError(() => redis.fCallRo('ledger_balance', { keys: [tokenKeys(sym).token], arguments: ['treasury'] }))).to.match(/^INVALID_TOKEN /);
  });

  // Each split is a set of the token's keys already moved to the target, as `redis-cli --cluster
  // reshard` or a hand-run MIGRATE leaves them between two steps.
  const splits: [string, (k: ReturnType<typeof tokenKeys>) => string[]][] = [
    [':log and :rank:small moved', (k) => [k.log, k.rankSmall]],
    ['the token hash and :balances moved', (k) => [k.token, k.balances]],
    ['all but :log moved', (k) => [k.token, k.balances, k.rank, k.rankSmall]],
    [':rank moved alone', (k) => [k.rank]],
  ];

  for (const [what, moved] of splits) {
    it(`with ${what}: every call is redirected or refused as a whole, and the client's call lands once after`, async () => {
      const sym = uniqueSymbol('M');
      await ledger.init(redis, sym, token);
      await ledger.transfer(redis, sym, { from: 'treasury', to: 'whale', amount: big, opId: 'old' });
      await ledger.transfer(redis, sym, { from: 'treasury', to: 'small', amount: '7' });
      const k = tokenKeys(sym);
      const everyKey = [...declaredKeys(sym, 'old'), `${k.token}:op:new`];
      const { slot, index } = await ownerOf(sym);
      const source = nodes[index]!;
      const target = nodes[(index + 1) % nodes.length]!;
      const targetPort = cluster.nodes[(index + 1) % nodes.length]!.port;
      await target.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', nodeIds[index]!]);
      await source.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', nodeIds[(index + 1) % nodes.length]!]);
      await source.sendCommand(['MIGRATE', '127.0.0.1', String(targetPort), '', '0', '5000', 'KEYS', ...moved(k)]);
      const before = [await dumps(source, everyKey), await dumps(target, everyKey)];

      // Raw calls, every documented form, on both nodes (ASKING on the target, as after -ASK).
      const calls: [string, string[], string[]][] = [
        ['ledger_transfer', declaredKeys(sym, 'new'), ['whale', 'small', '1', 'new']],
        ['ledger_transfer', declaredKeys(sym), ['whale', 'small', '1']],
        ['ledger_transfer', [k.token], ['whale', 'small', '1']],
        ['ledger_burn', declaredKeys(sym, 'new'), ['small', '1', 'new']],
        ['ledger_transfer_batch', declaredKeys(sym), ['-', '2', 'whale', 'small', '1', 'small', 'x', '1']],
        ['ledger_transfer', declaredKeys(sym, 'old'), ['treasury', 'whale', big, 'old']],
        ['ledger_balance', declaredKeys(sym), ['whale']],
      ];
      for (const [fn, keys, args] of calls) {
        for (const [side, node] of [['source', source], ['target', target]] as const) {
          const command = ['FCALL', fn, String(keys.length), ...keys, ...args];
          const reply = side === 'target' ? await asking(node, command) : await node.sendCommand(command).catch((e: Error) => e);
          const message = reply instanceof Error ? reply.message : `ok ${JSON.stringify(reply)}`;
          expect(message, `${fn} ${keys.length} keys on the ${side}`).to.match(/^(ASK|TRYAGAIN|INVALID_TOKEN|MOVED) /);
        }
      }
      expect([await dumps(source, everyKey), await dumps(target, everyKey)], 'no key changed on either node').to.deep.equal(before);

      // The client's call meets TRYAGAIN/ASK, backs off, and lands once the slot has moved.
      const pending = ledger.transfer(redis, sym, { from: 'whale', to: 'small', amount: '1', opId: 'new' });
      await sleep(300);
      const rest = everyKey.filter((key) => !moved(k).includes(key));
      for (const key of rest) {
        await source.sendCommand(['MIGRATE', '127.0.0.1', String(targetPort), key, '0', '5000']);
      }
      for (const node of nodes) await node.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', nodeIds[(index + 1) % nodes.length]!]);
      const receipt = await pending;
      expect(receipt.toBalance).to.equal('8');
      expect(await ledger.transfer(redis, sym, { from: 'whale', to: 'small', amount: '1', opId: 'new' })).to.deep.equal(receipt);
      expect(await ledger.balance(redis, sym, 'whale')).to.equal((2n ** 60n - 1n).toString());
      expect(await ledger.top(redis, sym, 3)).to.deep.equal([
        { account: 'treasury', balance: (2n ** 70n - 2n ** 60n - 7n).toString() },
        { account: 'whale', balance: (2n ** 60n - 1n).toString() },
        { account: 'small', balance: '8' },
      ]);
      const log = await ledger.events(redis, sym, { count: 10 });
      expect(log.events.map((e) => e.type)).to.deep.equal(['init', 'transfer', 'transfer', 'transfer']);
    });
  }
});
