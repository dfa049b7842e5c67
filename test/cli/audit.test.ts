// `tally audit SYM` against real tokens: a healthy token (big and small balances, transfers,
// burns, batches, opIds, more than one page of log and holders) passes with exit 0; each planted
// corruption (a balance the log does not give, a stale rank member, a rank missing, a broken
// opId record, a supply that disagrees) is reported and exits 1.
import { expect } from 'chai';
import { connectRedis, type RedisConnection } from '../../src/connections.ts';
import { auditToken, rankMember } from '../../src/ledger/audit.ts';
import type { Ledger } from '../../src/ledger/client.ts';
import { tokenKeys } from '../../src/ledger/keys.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { tally, useSharedLedger } from './tally.ts';

const big = '1'.padEnd(30, '0');

describe('tally audit', function () {
  this.timeout(60_000);
  const sharedLedger = useSharedLedger();
  let ledger: Ledger;
  let redis: RedisConnection;

  before(async () => {
    ledger = sharedLedger();
    redis = await connectRedis({ url: sharedRedisUrl() });
  });
  after(() => redis.destroy());

  async function healthyToken(): Promise<string> {
    const sym = uniqueSymbol('AUD');
    await ledger.init(sym, { name: 'Audit', decimals: 18, totalSupply: big.padEnd(33, '0'), treasury: 'treasury' });
    await ledger.transfer(sym, { from: 'treasury', to: 'whale', amount: big, opId: 'aud-1' });
    await ledger.transfer(sym, { from: 'whale', to: 'minnow', amount: '7', opId: 'aud-2' });
    await ledger.burn(sym, { account: 'whale', amount: '1000', opId: 'aud-3' });
    const legs = Array.from({ length: 300 }, (_, i) => ({ from: 'treasury', to: `acct-${i}`, amount: String(i % 2 ? 5 + i : 2 ** 53 + i) }));
    await ledger.transferBatch(sym, { legs, opId: 'aud-batch' });
    for (let i = 0; i < 30; i++) await ledger.transfer(sym, { from: `acct-${i}`, to: `acct-${i + 1}`, amount: '1' });
    return sym;
  }

  it('passes a healthy token over several pages, and exits 0', async () => {
    const sym = await healthyToken();
    const report = await auditToken(redis, sym, { pageSize: 50 });
    expect(report.violations).to.deep.equal([]);
    expect(report).to.include({ ok: true, holders: 303, logEntries: 35 });
    const run = await tally(['audit', sym]);
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout)).to.deep.equal({ symbol: sym, ok: true, violationCount: 0, holders: 303, logEntries: 35 });
  });

  it('reports each planted corruption and exits 1', async () => {
    const sym = await healthyToken();
    const keys = tokenKeys(sym);
    await redis.hSet(keys.balances, 'minnow', '8'); // the log gives 7; the sum is off by one too
    await redis.zAdd(`${keys.rank}:small`, { score: -5, value: 'ghost' }); // ranked without a balance
    await redis.zRem(keys.rank, rankMember('whale', String(BigInt(big) - 1007n))); // a big holder ranked
    await redis.zAdd(keys.rank, { score: 0, value: rankMember('whale', big) }); // under a stale balance
    await redis.set(`${keys.token}:op:aud-2`, 'not json');
    const report = await auditToken(redis, sym, { pageSize: 50 });
    expect(report.ok).to.equal(false);
    const text = report.violations.join('\n');
    expect(text).to.include('minnow holds 8 but the log gives 7');
    expect(text).to.match(/the balances sum to \d+, circulatingSupply is \d+/);
    expect(text).to.include('whale (');
    expect(text).to.include('is not ranked in rank with its encoded balance');
    expect(text).to.include('the record of opId aud-2 is not JSON');
    expect(text).to.include('304 rank members for 303 holders');
    expect(text).to.include('ledger_top differs from the sorted balances');
    const run = await tally(['audit', sym]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include('violation: minnow holds 8 but the log gives 7');
    expect(run.stderr).to.match(/tally: audit of \S+ found \d+ violations/);
    expect(JSON.parse(run.stdout)).to.include({ ok: false, violationCount: report.violationCount });
  });

  it('answers TOKEN_NOT_FOUND (exit 1) for a token that does not exist', async () => {
    const run = await tally(['audit', uniqueSymbol('NONE')]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/^tally: TOKEN_NOT_FOUND: /);
  });
});
