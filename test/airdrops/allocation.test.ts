// The airdrop allocation rules against an independent model: exact sums, largest remainders,
// ties by account, refusal of a rule that pays no one.
import { expect } from 'chai';
import { allocate, compareAccounts } from '../../src/airdrops/allocation.ts';

const h = (account: string, balance: bigint) => ({ account, balance });

describe('airdrop allocation', () => {
  it('fixed pays the same amount to every holder, in account order', () => {
    const legs = allocate([h('0.0.10', 5n), h('0.0.9', 1n), h('0.1.2', 7n)], { rule: 'fixed', amount: 3n });
    expect(legs).to.deep.equal([{ account: '0.0.9', amount: 3n }, { account: '0.0.10', amount: 3n }, { account: '0.1.2', amount: 3n }]);
  });

  it('proRata gives the leftover units to the largest remainders, ties by account ascending', () => {
    // total 10 over balances 1,1,1: floors 3,3,3; one unit left; all remainders equal -> lowest account
    expect(allocate([h('0.0.30', 1n), h('0.0.20', 1n), h('0.0.100', 1n)], { rule: 'proRata', total: 10n }))
      .to.deep.equal([{ account: '0.0.20', amount: 4n }, { account: '0.0.30', amount: 3n }, { account: '0.0.100', amount: 3n }]);
    // total 7 over 1,2,4 (B = 7): exact shares 1,2,4
    expect(allocate([h('0.0.1', 1n), h('0.0.2', 2n), h('0.0.3', 4n)], { rule: 'proRata', total: 7n }).map((l) => l.amount)).to.deep.equal([1n, 2n, 4n]);
    // total 5 over 1,1,8 (B = 10): floors 0,0,4, remainders 5,5,0: the one unit left goes to the lower account
    expect(allocate([h('0.0.2', 1n), h('0.0.1', 1n), h('0.0.3', 8n)], { rule: 'proRata', total: 5n }))
      .to.deep.equal([{ account: '0.0.1', amount: 1n }, { account: '0.0.3', amount: 4n }]);
  });

  it('proRata sums exactly to total over many holders with 2^256-scale numbers, matching a model', () => {
    let seed = 12345n;
    const rand = () => (seed = (seed * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n);
    const holders = Array.from({ length: 2_000 }, (_, i) => h(`0.0.${5000 - i}`, 1n + rand() * rand() * rand()));
    const total = 2n ** 256n - 1n;
    const legs = allocate(holders, { rule: 'proRata', total });
    expect(legs.reduce((s, l) => s + l.amount, 0n)).to.equal(total);
    // model: every share is floor or floor + 1 of the exact quotient, and + 1 goes to the largest remainders
    const supply = holders.reduce((s, x) => s + x.balance, 0n);
    const byAccount = new Map(legs.map((l) => [l.account, l.amount]));
    const bumped = holders.filter((x) => byAccount.get(x.account)! === total * x.balance / supply + 1n);
    const kept = holders.filter((x) => byAccount.get(x.account)! === total * x.balance / supply);
    expect(bumped.length + kept.length).to.equal(holders.length);
    const minBumped = bumped.reduce((m, x) => { const r = total * x.balance % supply; return r < m ? r : m; }, supply);
    for (const x of kept) expect(total * x.balance % supply <= minBumped).to.equal(true);
  });

  it('drops zero shares and refuses a rule that pays no one', () => {
    expect(allocate([h('0.0.1', 1n), h('0.0.2', 1000n)], { rule: 'proRata', total: 1n })).to.deep.equal([{ account: '0.0.2', amount: 1n }]);
    expect(() => allocate([h('0.0.1', 1n)], { rule: 'fixed', amount: 0n })).to.throw().with.property('code', 'AIRDROP_PAYS_NOTHING');
    expect(() => allocate([h('0.0.1', 1n)], { rule: 'proRata', total: 0n })).to.throw().with.property('code', 'AIRDROP_PAYS_NOTHING');
    expect(() => allocate([], { rule: 'fixed', amount: 5n })).to.throw().with.property('code', 'AIRDROP_PAYS_NOTHING');
    expect(() => allocate([h('0.0.1', 1n), h('0.0.1', 2n)], { rule: 'fixed', amount: 5n })).to.throw().with.property('code', 'INVALID_ARGUMENT');
  });

  it('orders Hedera ids numerically and other accounts by bytes, Hedera ids first', () => {
    expect(['b', '0.0.10', 'a', '0.0.9', '1.0.0'].sort(compareAccounts)).to.deep.equal(['0.0.9', '0.0.10', '1.0.0', 'a', 'b']);
  });
});
