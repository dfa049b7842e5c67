// Every function of the ledger library over FCALL: the happy path, each error code it can raise,
// and that a failing call leaves every key of the token byte-for-byte unchanged.
import { expect } from 'chai';
import type { RedisClientType } from 'redis';
import { connect } from '../../testkit/clients.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { dumpToken } from '../../testkit/ledger-state.ts';
import { until } from '../../testkit/wait.ts';
import * as ledger from '../../src/ledger/functions.ts';
import { LedgerError, toLedgerError } from '../../src/ledger/errors.ts';

const MAX = ((1n << 256n) - 1n).toString();

describe('ledger functions', () => {
  let redis: RedisClientType;
  let sym: string;

  before(async () => { redis = await connect(sharedRedisUrl()); });
  after(() => { redis.destroy(); });
  beforeEach(async () => {
    sym = uniqueSymbol('F');
    await ledger.init(redis, sym, { name: 'Test token', decimals: 6, totalSupply: '1000000', treasury: 'treasury' });
  });

  const fcall = (fn: string, key: string, ...args: string[]) =>
    redis.fCall(fn, { keys: [key], arguments: args }).catch((error) => { throw toLedgerError(error); });

  /** Runs a call that must fail with `code` and checks that the token did not change. */
  async function expectFailure(code: string, run: () => Promise<unknown>, symbol = sym): Promise<LedgerError> {
    const before = await dumpToken(redis, symbol);
    let caught: unknown;
    try { await run(); } catch (error) { caught = error; }
    expect(caught, `expected ${code}`).to.be.instanceOf(LedgerError);
    expect((caught as LedgerError).code).to.equal(code);
    expect((caught as LedgerError).message).to.be.a('string').and.not.empty;
    expect(await dumpToken(redis, symbol)).to.deep.equal(before);
    return caught as LedgerError;
  }

  /** The same through raw FCALL: the reply text starts with the code and has no script location. */
  async function expectRawError(code: string, fn: string, key: string, ...args: string[]) {
    const before = await dumpToken(redis, sym);
    let caught: unknown;
    try { await redis.fCall(fn, { keys: [key], arguments: args }); } catch (error) { caught = error; }
    expect(String((caught as Error)?.message)).to.match(new RegExp(`^${code} `)).and.not.match(/script:/);
    expect(await dumpToken(redis, sym)).to.deep.equal(before);
  }

  describe('ledger_init', () => {
    it('creates the token, gives the treasury the supply, and is idempotent', async () => {
      const s = uniqueSymbol('I');
      expect(await ledger.init(redis, s, { name: 'Gold', decimals: 18, totalSupply: MAX, treasury: '0.0.1234' })).to.equal('created');
      expect(await ledger.init(redis, s, { name: 'Gold', decimals: 18, totalSupply: MAX, treasury: '0.0.1234' })).to.equal('exists');
      const info = await ledger.info(redis, s);
      expect(info).to.include({ name: 'Gold', symbol: s, decimals: 18, totalSupply: MAX, circulatingSupply: MAX, treasury: '0.0.1234', holders: 1 });
      expect(info.createdAt).to.be.closeTo(Date.now(), 60_000);
      expect(await ledger.balance(redis, s, '0.0.1234')).to.equal(MAX);
      const page = await ledger.events(redis, s, { count: 10 });
      expect(page.events).to.have.length(1);
      expect(page.events[0]).to.include({ type: 'init', account: '0.0.1234', amount: MAX });
    });

    it('rejects a different init of an existing token with TOKEN_EXISTS', async () => {
      await expectFailure('TOKEN_EXISTS', () => ledger.init(redis, sym, { name: 'Other', decimals: 6, totalSupply: '1000000', treasury: 'treasury' }));
      await expectFailure('TOKEN_EXISTS', () => ledger.init(redis, sym, { name: 'Test token', decimals: 6, totalSupply: '1000001', treasury: 'treasury' }));
    });

    it('rejects bad name, decimals and supply with INVALID_TOKEN and writes nothing', async () => {
      const s = uniqueSymbol('B');
      const key = `token:{${s}}`;
      for (const args of [
        ['', '6', '100', 't'], ['x'.repeat(129), '6', '100', 't'], ['a\nb', '6', '100', 't'],
        ['n', '37', '100', 't'], ['n', '-1', '100', 't'], ['n', '06', '100', 't'], ['n', '1.5', '100', 't'],
        ['n', '6', '0', 't'], ['n', '6', '1e3', 't'], ['n', '6', (BigInt(MAX) + 1n).toString(), 't'],
      ]) {
        await expectFailure('INVALID_TOKEN', () => fcall('ledger_init', key, ...args), s);
      }
      expect(await redis.exists(key)).to.equal(0);
    });

    it('rejects a bad key, a bad treasury and a wrong argument count', async () => {
      await expectRawError('INVALID_TOKEN', 'ledger_init', 'token:{lower}', 'n', '6', '100', 't');
      await expectRawError('INVALID_TOKEN', 'ledger_init', 'tok:{A}', 'n', '6', '100', 't');
      await expectRawError('INVALID_TOKEN', 'ledger_init', `token:{${'A'.repeat(33)}}`, 'n', '6', '100', 't');
      await expectRawError('INVALID_ARGUMENT', 'ledger_init', `token:{${uniqueSymbol()}}`, 'n', '6', '100');
      await expectRawError('INVALID_ACCOUNT', 'ledger_init', `token:{${uniqueSymbol()}}`, 'n', '6', '100', 'bad account');
      await expectRawError('INVALID_ARGUMENT', 'ledger_init', `token:{${uniqueSymbol()}}`, 'n', '6', '100', 't', '0');
    });
  });

  describe('ledger_info, ledger_balance, ledger_supply, ledger_version', () => {
    it('report the token', async () => {
      await ledger.transfer(redis, sym, { from: 'treasury', to: 'alice', amount: '250' });
      expect(await ledger.balance(redis, sym, 'alice')).to.equal('250');
      expect(await ledger.balance(redis, sym, 'nobody')).to.equal('0');
      expect(await ledger.supply(redis, sym)).to.deep.equal({ totalSupply: '1000000', circulatingSupply: '1000000' });
      expect((await ledger.info(redis, sym)).holders).to.equal(2);
      expect(await ledger.version(redis)).to.match(/^\d+\.\d+\.\d+$/);
    });

    it('raise TOKEN_NOT_FOUND, INVALID_ACCOUNT, INVALID_ARGUMENT', async () => {
      const missing = uniqueSymbol('M');
      await expectFailure('TOKEN_NOT_FOUND', () => ledger.info(redis, missing), missing);
      await expectFailure('TOKEN_NOT_FOUND', () => ledger.balance(redis, missing, 'a'), missing);
      await expectFailure('TOKEN_NOT_FOUND', () => ledger.supply(redis, missing), missing);
      await expectFailure('INVALID_ACCOUNT', () => ledger.balance(redis, sym, 'no spaces'));
      await expectFailure('INVALID_ACCOUNT', () => ledger.balance(redis, sym, 'a'.repeat(129)));
      await expectRawError('INVALID_ARGUMENT', 'ledger_info', `token:{${sym}}`, 'extra');
      await expectRawError('INVALID_ARGUMENT', 'ledger_balance', `token:{${sym}}`);
    });

    it('are read-only: callable with FCALL_RO', async () => {
      const reply = await redis.fCallRo('ledger_balance', { keys: [`token:{${sym}}`], arguments: ['treasury'] });
      expect(String(reply)).to.equal('1000000');
    });
  });

  describe('ledger_transfer', () => {
    it('moves funds, logs and removes emptied accounts', async () => {
      const receipt = await ledger.transfer(redis, sym, { from: 'treasury', to: 'alice', amount: '1000000' });
      expect(receipt).to.include({ fromBalance: '0', toBalance: '1000000' });
      expect(await redis.hExists(`token:{${sym}}:balances`, 'treasury')).to.equal(0);
      expect((await ledger.info(redis, sym)).holders).to.equal(1);
      const page = await ledger.events(redis, sym, { count: 10, after: '-' });
      expect(page.events.at(-1)).to.include({ id: receipt.eventId, type: 'transfer', from: 'treasury', to: 'alice', amount: '1000000' });
    });

    it('replays a repeated opId and rejects one with other parameters', async () => {
      const first = await ledger.transfer(redis, sym, { from: 'treasury', to: 'alice', amount: '10', opId: 'op-1' });
      await ledger.transfer(redis, sym, { from: 'treasury', to: 'alice', amount: '5' });
      const again = await ledger.transfer(redis, sym, { from: 'treasury', to: 'alice', amount: '10', opId: 'op-1' });
      expect(again).to.deep.equal(first);
      expect(await ledger.balance(redis, sym, 'alice')).to.equal('15');
      expect(await redis.pTTL(`token:{${sym}}:op:op-1`)).to.be.greaterThan(86_000_000);
      await expectFailure('OP_CONFLICT', () => ledger.transfer(redis, sym, { from: 'treasury', to: 'alice', amount: '11', opId: 'op-1' }));
      await expectFailure('OP_CONFLICT', () => ledger.burn(redis, sym, { account: 'treasury', amount: '10', opId: 'op-1' }));
    });

    it('records nothing for a failed call, so a retry with the same opId runs', async () => {
      await expectFailure('INSUFFICIENT_FUNDS', () => ledger.transfer(redis, sym, { from: 'alice', to: 'bob', amount: '10', opId: 'op-2' }));
      await ledger.transfer(redis, sym, { from: 'treasury', to: 'alice', amount: '10' });
      const receipt = await ledger.transfer(redis, sym, { from: 'alice', to: 'bob', amount: '10', opId: 'op-2' });
      expect(receipt).to.include({ fromBalance: '0', toBalance: '10' });
    });

    it('raises each of its error codes, changing nothing', async () => {
      const key = `token:{${sym}}`;
      await expectRawError('INVALID_TOKEN', 'ledger_transfer', 'token:{}', 'a', 'b', '1');
      await expectRawError('INVALID_ARGUMENT', 'ledger_transfer', key, 'a', 'b');
      await expectRawError('INVALID_ARGUMENT', 'ledger_transfer', key, 'a', 'b', '1', 'op', 'extra');
      await expectRawError('INVALID_ARGUMENT', 'ledger_transfer', key, 'treasury', 'b', '1', '_bad');
      await expectRawError('INVALID_ACCOUNT', 'ledger_transfer', key, '', 'b', '1');
      await expectRawError('INVALID_ACCOUNT', 'ledger_transfer', key, 'treasury', '-b', '1');
      await expectRawError('INVALID_AMOUNT', 'ledger_transfer', key, 'treasury', 'b', '0');
      await expectRawError('SAME_ACCOUNT', 'ledger_transfer', key, 'treasury', 'treasury', '1');
      await expectFailure('TOKEN_NOT_FOUND', () => ledger.transfer(redis, uniqueSymbol(), { from: 'a', to: 'b', amount: '1' }));
      await expectFailure('INSUFFICIENT_FUNDS', () => ledger.transfer(redis, sym, { from: 'treasury', to: 'b', amount: '1000001' }));
    });

    it('checks codes in the contract order (shape before token, token before opId, opId before funds)', async () => {
      const missing = uniqueSymbol('M');
      await expectFailure('INVALID_ARGUMENT', () => ledger.transfer(redis, missing, { from: 'bad account', to: 'b', amount: '1', opId: '!' }), missing);
      await expectFailure('INVALID_ACCOUNT', () => ledger.transfer(redis, missing, { from: 'bad account', to: 'b', amount: 'x' }), missing);
      await expectFailure('INVALID_AMOUNT', () => ledger.transfer(redis, missing, { from: 'a', to: 'a', amount: 'x' }), missing);
      await expectFailure('SAME_ACCOUNT', () => ledger.transfer(redis, missing, { from: 'a', to: 'a', amount: '1' }), missing);
      await ledger.transfer(redis, sym, { from: 'treasury', to: 'b', amount: '1', opId: 'o-1' });
      await expectFailure('OP_CONFLICT', () => ledger.transfer(redis, sym, { from: 'nobody', to: 'b', amount: '5', opId: 'o-1' }));
    });

    it('publishes the transfer event on token:{SYM}:transfers', async () => {
      const sub = redis.duplicate();
      sub.on('error', () => {});
      await sub.connect();
      const messages: string[] = [];
      await sub.subscribe(`token:{${sym}}:transfers`, (m: string) => messages.push(m));
      const receipt = await ledger.transfer(redis, sym, { from: 'treasury', to: 'alice', amount: '7', opId: 'pub-1' });
      await until(() => messages.length > 0, { what: 'the published transfer', timeoutMs: 500, stepMs: 10 });
      await sub.close();
      expect(messages).to.have.length(1);
      const event = JSON.parse(messages[0]!);
      expect(Object.keys(event)).to.deep.equal(['token', 'id', 'from', 'to', 'amount', 'opId', 'ts']);
      expect(event).to.include({ token: sym, id: receipt.eventId, from: 'treasury', to: 'alice', amount: '7', opId: 'pub-1' });
      expect(event.ts).to.be.a('number');
    });
  });

  describe('amount edges', () => {
    let big: string;
    beforeEach(async () => {
      big = uniqueSymbol('E');
      await ledger.init(redis, big, { name: 'Big', decimals: 18, totalSupply: MAX, treasury: 'treasury' });
    });

    it('accepts 2^256 - 1 where the balance allows', async () => {
      const receipt = await ledger.transfer(redis, big, { from: 'treasury', to: 'whale', amount: MAX });
      expect(receipt).to.include({ fromBalance: '0', toBalance: MAX });
      expect(await ledger.top(redis, big, 2)).to.deep.equal([{ account: 'whale', balance: MAX }]);
    });

    it('rejects malformed amounts with INVALID_AMOUNT', async () => {
      const bad = ['-1', '1e3', '0x10', '1.5', ' 5', '5 ', '05', '', '+5', '٣', '１', (BigInt(MAX) + 1n).toString(), '1'.repeat(79), '0'];
      for (const amount of bad) {
        await expectFailure('INVALID_AMOUNT', () => ledger.transfer(redis, big, { from: 'treasury', to: 'x', amount }), big);
        await expectFailure('INVALID_AMOUNT', () => ledger.burn(redis, big, { account: 'treasury', amount }), big);
      }
    });

    it('subtracts exactly around 10^27', async () => {
      const s = uniqueSymbol('X');
      await ledger.init(redis, s, { name: 'X', decimals: 18, totalSupply: (10n ** 27n).toString(), treasury: 'treasury' });
      const receipt = await ledger.transfer(redis, s, { from: 'treasury', to: 'a', amount: '123456789012345678901234567' });
      expect(receipt.fromBalance).to.equal('876543210987654321098765433');
      expect(await ledger.balance(redis, s, 'treasury')).to.equal('876543210987654321098765433');
    });

    it('orders balances that share a double exactly in ledger_top', async () => {
      const s = uniqueSymbol('D');
      const base = 10n ** 26n;
      await ledger.init(redis, s, { name: 'D', decimals: 18, totalSupply: (base * 4n).toString(), treasury: 'treasury' });
      await ledger.transfer(redis, s, { from: 'treasury', to: 'b', amount: (base + 1n).toString() });
      await ledger.transfer(redis, s, { from: 'treasury', to: 'a', amount: base.toString() });
      await ledger.transfer(redis, s, { from: 'treasury', to: 'c', amount: (base + 2n).toString() });
      expect(Number(base) === Number(base + 2n)).to.equal(true); // they do share a double
      const top = await ledger.top(redis, s, 10);
      expect(top.map((h) => h.account)).to.deep.equal(['c', 'b', 'a', 'treasury']);
      expect(top.map((h) => h.balance)).to.deep.equal([base + 2n, base + 1n, base, base - 3n].map(String));
    });
  });

  describe('ledger_burn', () => {
    it('burns, lowers the circulating supply, logs and publishes', async () => {
      const receipt = await ledger.burn(redis, sym, { account: 'treasury', amount: '400', opId: 'b-1' });
      expect(receipt).to.include({ balance: '999600', circulatingSupply: '999600' });
      expect(await ledger.supply(redis, sym)).to.deep.equal({ totalSupply: '1000000', circulatingSupply: '999600' });
      expect(await ledger.burn(redis, sym, { account: 'treasury', amount: '400', opId: 'b-1' })).to.deep.equal(receipt);
      expect(await ledger.balance(redis, sym, 'treasury')).to.equal('999600');
    });

    it('raises each of its error codes, changing nothing', async () => {
      const key = `token:{${sym}}`;
      await expectRawError('INVALID_TOKEN', 'ledger_burn', 'token:{a}', 'treasury', '1');
      await expectRawError('INVALID_ARGUMENT', 'ledger_burn', key, 'treasury');
      await expectRawError('INVALID_ARGUMENT', 'ledger_burn', key, 'treasury', '1', 'bad op');
      await expectRawError('INVALID_ACCOUNT', 'ledger_burn', key, 'a/b', '1');
      await expectRawError('INVALID_AMOUNT', 'ledger_burn', key, 'treasury', '0');
      await expectFailure('TOKEN_NOT_FOUND', () => ledger.burn(redis, uniqueSymbol(), { account: 'a', amount: '1' }));
      await ledger.burn(redis, sym, { account: 'treasury', amount: '1', opId: 'b-2' });
      await expectFailure('OP_CONFLICT', () => ledger.burn(redis, sym, { account: 'treasury', amount: '2', opId: 'b-2' }));
      await expectFailure('INSUFFICIENT_FUNDS', () => ledger.burn(redis, sym, { account: 'treasury', amount: '1000000' }));
    });
  });

  describe('ledger_transfer_batch', () => {
    it('applies every leg in order, atomically, with one log entry and one message per leg', async () => {
      const receipt = await ledger.transferBatch(redis, sym, { opId: 'batch-1', legs: [
        { from: 'treasury', to: 'a', amount: '100' },
        { from: 'a', to: 'b', amount: '60' }, // only possible after leg 1
        { from: 'b', to: 'c', amount: '60' },
      ] });
      expect(receipt.legs).to.equal(3);
      expect(await ledger.balance(redis, sym, 'a')).to.equal('40');
      expect(await ledger.balance(redis, sym, 'b')).to.equal('0');
      expect(await ledger.balance(redis, sym, 'c')).to.equal('60');
      const event = (await ledger.events(redis, sym, { count: 10 })).events.at(-1)!;
      expect(event).to.include({ id: receipt.eventId, type: 'batch', opId: 'batch-1' });
      expect(event.legs).to.have.length(3);
      const replay = await ledger.transferBatch(redis, sym, { opId: 'batch-1', legs: [
        { from: 'treasury', to: 'a', amount: '100' }, { from: 'a', to: 'b', amount: '60' }, { from: 'b', to: 'c', amount: '60' },
      ] });
      expect(replay).to.deep.equal(receipt);
      expect(await ledger.balance(redis, sym, 'c')).to.equal('60');
    });

    it('applies none when one leg fails', async () => {
      await expectFailure('INSUFFICIENT_FUNDS', () => ledger.transferBatch(redis, sym, { legs: [
        { from: 'treasury', to: 'a', amount: '100' },
        { from: 'a', to: 'b', amount: '101' },
      ] }));
    });

    it('raises each of its error codes, changing nothing', async () => {
      const key = `token:{${sym}}`;
      await expectRawError('INVALID_TOKEN', 'ledger_transfer_batch', 'token:{x y}', '-', '1', 'a', 'b', '1');
      await expectRawError('INVALID_ARGUMENT', 'ledger_transfer_batch', key, '-');
      await expectRawError('INVALID_ARGUMENT', 'ledger_transfer_batch', key, '-', '0');
      await expectRawError('INVALID_ARGUMENT', 'ledger_transfer_batch', key, '-', '1001');
      await expectRawError('INVALID_ARGUMENT', 'ledger_transfer_batch', key, '-', '2', 'a', 'b', '1');
      await expectRawError('INVALID_ARGUMENT', 'ledger_transfer_batch', key, '*bad', '1', 'a', 'b', '1');
      await expectRawError('INVALID_ACCOUNT', 'ledger_transfer_batch', key, '-', '2', 'treasury', 'b', '1', 'b', 'c d', '1');
      await expectRawError('INVALID_AMOUNT', 'ledger_transfer_batch', key, '-', '2', 'treasury', 'b', '1', 'b', 'c', '01');
      await expectRawError('SAME_ACCOUNT', 'ledger_transfer_batch', key, '-', '2', 'treasury', 'b', '1', 'b', 'b', '1');
      await expectFailure('TOKEN_NOT_FOUND', () => ledger.transferBatch(redis, uniqueSymbol(), { legs: [{ from: 'a', to: 'b', amount: '1' }] }));
      await ledger.transferBatch(redis, sym, { opId: 'bb', legs: [{ from: 'treasury', to: 'b', amount: '1' }] });
      await expectFailure('OP_CONFLICT', () => ledger.transferBatch(redis, sym, { opId: 'bb', legs: [{ from: 'treasury', to: 'b', amount: '2' }] }));
    });

    it('takes 1000 legs in one call', async () => {
      const legs = Array.from({ length: 1000 }, (_, i) => ({ from: 'treasury', to: `acct-${i}`, amount: String(i + 1) }));
      expect((await ledger.transferBatch(redis, sym, { legs })).legs).to.equal(1000);
      expect((await ledger.info(redis, sym)).holders).to.equal(1001);
      expect(await ledger.balance(redis, sym, 'acct-999')).to.equal('1000');
    });
  });

  describe('ledger_top', () => {
    it('lists holders by balance descending, ties by account ascending', async () => {
      for (const [to, amount] of [['b', '5'], ['a', '5'], ['c', '9'], ['d', '1']] as const) {
        await ledger.transfer(redis, sym, { from: 'treasury', to, amount });
      }
      expect(await ledger.top(redis, sym, 5)).to.deep.equal([
        { account: 'treasury', balance: '999980' }, { account: 'c', balance: '9' },
        { account: 'a', balance: '5' }, { account: 'b', balance: '5' }, { account: 'd', balance: '1' },
      ]);
      expect((await ledger.top(redis, sym, 2)).map((h) => h.account)).to.deep.equal(['treasury', 'c']);
    });

    it('orders accounts where one is a prefix of another', async () => {
      await ledger.transfer(redis, sym, { from: 'treasury', to: 'ab', amount: '5' });
      await ledger.transfer(redis, sym, { from: 'treasury', to: 'a', amount: '5' });
      await ledger.transfer(redis, sym, { from: 'treasury', to: 'a.b', amount: '5' });
      expect((await ledger.top(redis, sym, 10)).slice(1).map((h) => h.account)).to.deep.equal(['a', 'a.b', 'ab']);
    });

    it('rejects bad limits', async () => {
      const key = `token:{${sym}}`;
      for (const limit of ['0', '1001', '-1', '1.5', 'x', '']) await expectRawError('INVALID_ARGUMENT', 'ledger_top', key, limit);
      await expectFailure('TOKEN_NOT_FOUND', () => ledger.top(redis, uniqueSymbol(), 1));
    });
  });

  describe('ledger_events', () => {
    it('pages through the log and filters by account', async () => {
      for (let i = 0; i < 5; i++) await ledger.transfer(redis, sym, { from: 'treasury', to: i % 2 ? 'odd' : 'even', amount: '1' });
      await ledger.burn(redis, sym, { account: 'odd', amount: '1' });
      await ledger.transferBatch(redis, sym, { legs: [{ from: 'even', to: 'z', amount: '1' }] });
      const first = await ledger.events(redis, sym, { count: 3 });
      expect(first.events.map((e) => e.type)).to.deep.equal(['init', 'transfer', 'transfer']);
      const rest = await ledger.events(redis, sym, { after: first.next, count: 100 });
      expect(rest.events.map((e) => e.type)).to.deep.equal(['transfer', 'transfer', 'transfer', 'burn', 'batch']);
      const odd = await ledger.events(redis, sym, { count: 100, account: 'odd' });
      expect(odd.events.map((e) => e.type)).to.deep.equal(['transfer', 'transfer', 'burn']);
      const z = await ledger.events(redis, sym, { count: 100, account: 'z' });
      expect(z.events.map((e) => e.type)).to.deep.equal(['batch']);
    });

    it('bounds a filtered scan at 250 legs and hands back a cursor', async () => {
      // init + 299 transfers to 'x', then one to 'ghost': the first call stops after 250
      // entries (each counts one leg) with a cursor, the second finds the ghost's entry.
      await Promise.all(Array.from({ length: 299 }, () => ledger.transfer(redis, sym, { from: 'treasury', to: 'x', amount: '1' })));
      const last = await ledger.transfer(redis, sym, { from: 'treasury', to: 'ghost', amount: '1' });
      const first = await ledger.events(redis, sym, { count: 5, account: 'ghost' });
      expect(first.events).to.have.length(0);
      expect(first.end).to.equal(false);
      const all = await redis.xRange(`token:{${sym}}:log`, '-', '+', { COUNT: 250 });
      expect(first.next).to.equal(all!.at(-1)!.id);
      const second = await ledger.events(redis, sym, { count: 5, account: 'ghost', after: first.next });
      expect(second.events.map((e) => e.id)).to.deep.equal([last.eventId]);
    });

    it('rejects bad arguments', async () => {
      const key = `token:{${sym}}`;
      await expectRawError('INVALID_ARGUMENT', 'ledger_events', key, 'abc', '10');
      await expectRawError('INVALID_ARGUMENT', 'ledger_events', key, '-', '0');
      await expectRawError('INVALID_ARGUMENT', 'ledger_events', key, '-', '1001');
      await expectRawError('INVALID_ACCOUNT', 'ledger_events', key, '-', '10', 'bad acct');
      await expectFailure('TOKEN_NOT_FOUND', () => ledger.events(redis, uniqueSymbol(), { count: 1 }));
    });
  });
});
