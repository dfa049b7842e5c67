// Exact arithmetic where the library's 15-digit chunks carry and borrow, where its fast paths
// for short amounts end (a lowest chunk reaching exactly 10^15, or going below 0) and where a
// balance moves between the two rank sets (2^53): every sum and difference checked against BigInt.
import { expect } from 'chai';
import type { RedisClientType } from 'redis';
import { connect } from '../../testkit/clients.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import * as ledger from '../../src/ledger/functions.ts';

const MAX = (1n << 256n) - 1n;
const near = (base: bigint) => [base - 1n, base, base + 1n].filter((v) => v > 0n && v <= MAX);
const chunk = 10n ** 15n;
const balances = [15, 16, 29, 30, 31, 45, 60, 77].flatMap((e) => near(10n ** BigInt(e))).concat(near(1n << 53n), [MAX - 1n]);
const amounts = [1n, chunk - 1n, chunk, chunk + 1n, 10n ** 20n - 1n, 10n ** 30n + 1n];

describe('ledger arithmetic at chunk boundaries', () => {
  let redis: RedisClientType;
  before(async () => { redis = await connect(sharedRedisUrl()); });
  after(() => { redis.destroy(); });

  it(`adds and subtracts ${balances.length} balances and ${amounts.length} amounts exactly`, async () => {
    let checked = 0;
    for (const a of balances) {
      for (const b of amounts) {
        if (a + b > MAX) continue;
        const sym = uniqueSymbol('AR');
        await ledger.init(redis, sym, { name: 'Arithmetic', decimals: 18, totalSupply: String(a + b), treasury: 'treasury' });
        // treasury: a + b - a = b (sub); alice: 0 + a
        let receipt = await ledger.transfer(redis, sym, { from: 'treasury', to: 'alice', amount: String(a) });
        expect([receipt.fromBalance, receipt.toBalance], `${a + b} - ${a}`).to.deep.equal([String(b), String(a)]);
        // alice: a + b (add), treasury: b - b
        receipt = await ledger.transfer(redis, sym, { from: 'treasury', to: 'alice', amount: String(b) });
        expect([receipt.fromBalance, receipt.toBalance], `${a} + ${b}`).to.deep.equal(['0', String(a + b)]);
        // alice: a + b - b (sub), bob: b
        receipt = await ledger.transfer(redis, sym, { from: 'alice', to: 'bob', amount: String(b) });
        expect([receipt.fromBalance, receipt.toBalance], `${a + b} - ${b}`).to.deep.equal([String(a), String(b)]);
        // bob: b + a (add with the longer amount), alice: 0
        receipt = await ledger.transfer(redis, sym, { from: 'alice', to: 'bob', amount: String(a) });
        expect([receipt.fromBalance, receipt.toBalance], `${b} + ${a}`).to.deep.equal(['0', String(a + b)]);
        const top = await ledger.top(redis, sym, 10);
        expect(top.map((h) => [h.account, h.balance])).to.deep.equal([['bob', String(a + b)]]);
        checked++;
      }
    }
    expect(checked).to.be.greaterThan(100);
  });
});
