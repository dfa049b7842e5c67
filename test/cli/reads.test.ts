// `tally info`, `supply`, `tokens` and `events` (with --follow) as child processes.
import { expect } from 'chai';
import type { Ledger } from '../../src/ledger/client.ts';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';
import { startTally, tally, useSharedLedger } from './tally.ts';

const lines = (text: string) => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

describe('tally info, supply, tokens, events', function () {
  this.timeout(30_000);
  const sharedLedger = useSharedLedger();
  let ledger: Ledger;
  let sym: string;

  before(async () => {
    ledger = sharedLedger();
    sym = uniqueSymbol('CLR');
    await ledger.init(sym, { name: 'Reads', decimals: 2, totalSupply: '100000', treasury: 'alice' });
    await ledger.transfer(sym, { from: 'alice', to: 'bob', amount: '150' });
    await ledger.burn(sym, { account: 'bob', amount: '50' });
  });

  it('info prints the token as one JSON line, supplies in tokens with --human', async () => {
    const [plain, human] = await Promise.all([tally(['info', sym]), tally(['info', sym, '--human'])]);
    expect(plain.code, plain.stderr).to.equal(0);
    expect(JSON.parse(plain.stdout)).to.include({ symbol: sym, name: 'Reads', decimals: 2, totalSupply: '100000', circulatingSupply: '99950', treasury: 'alice', holders: 2 });
    expect(JSON.parse(human.stdout)).to.include({ totalSupply: '1000', circulatingSupply: '999.5' });
  });

  it('supply prints total and circulating supply; an unknown token exits 1 with its code', async () => {
    const [plain, human, missing] = await Promise.all([tally(['supply', sym]), tally(['supply', sym, '--human']), tally(['supply', uniqueSymbol('NONE')])]);
    expect(JSON.parse(plain.stdout)).to.deep.equal({ totalSupply: '100000', circulatingSupply: '99950' });
    expect(JSON.parse(human.stdout)).to.deep.equal({ totalSupply: '1000', circulatingSupply: '999.5' });
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/^tally: TOKEN_NOT_FOUND: /);
  });

  it('tokens lists the symbols, sorted, bounded by --limit', async () => {
    const other = uniqueSymbol('CLR');
    await ledger.init(other, { name: 'Other', decimals: 0, totalSupply: '1', treasury: 'alice' });
    const run = await tally(['tokens', '--limit', '10000']);
    expect(run.code, run.stderr).to.equal(0);
    const symbols = run.stdout.trim().split('\n');
    expect(symbols).to.include.members([sym, other]);
    expect(symbols).to.deep.equal([...symbols].sort());
    expect((await tally(['tokens', '--limit', '1'])).stdout.trim().split('\n')).to.have.length(1);
    expect((await tally(['tokens', '--limit', '0'])).code).to.equal(2);
  });

  it('events prints the log as NDJSON: --after, --account, --limit and --human', async () => {
    const all = await tally(['events', sym]);
    expect(all.code, all.stderr).to.equal(0);
    const events = lines(all.stdout);
    expect(events.map((e) => e.type)).to.deep.equal(['init', 'transfer', 'burn']);
    expect(events[1]).to.include({ from: 'alice', to: 'bob', amount: '150' });
    const [after, bob, limited, human] = await Promise.all([
      tally(['events', sym, '--after', String(events[0]!.id)]),
      tally(['events', sym, '--account', 'bob']),
      tally(['events', sym, '--limit', '1']),
      tally(['events', sym, '--human', '--after', String(events[0]!.id)]),
    ]);
    expect(lines(after.stdout).map((e) => e.type)).to.deep.equal(['transfer', 'burn']);
    expect(lines(bob.stdout).map((e) => e.type)).to.deep.equal(['transfer', 'burn']);
    expect(lines(limited.stdout).map((e) => e.type)).to.deep.equal(['init']);
    expect(lines(human.stdout).map((e) => e.amount)).to.deep.equal(['1.5', '0.5']);
  });

  it('events --follow prints new events as they commit and exits 0 on SIGINT', async () => {
    const follow = startTally(['events', sym, '--follow', '--interval-ms', '100', '--account', 'carol']);
    try {
      await ledger.transfer(sym, { from: 'alice', to: 'carol', amount: '7' });
      await follow.waitFor(/"to":"carol","amount":"7"/);
      await ledger.transfer(sym, { from: 'carol', to: 'bob', amount: '3' });
      await follow.waitFor(/"from":"carol","to":"bob","amount":"3"/);
      await follow.signal('SIGINT', 5_000);
      expect(await follow.exited).to.deep.equal({ code: 0, signal: null });
      expect(follow.stderr()).to.equal('');
      expect(lines(follow.stdout()).map((e) => e.amount)).to.deep.equal(['7', '3']);
    } finally {
      await follow.kill9();
    }
  });

  it('events refuses an interval outside 100..60000 ms with exit 2', async () => {
    const runs = await Promise.all([tally(['events', sym, '--follow', '--interval-ms', '10']), tally(['events', sym, '--interval-ms', '60001'])]);
    for (const run of runs) expect(run.code).to.equal(2);
  });
});
