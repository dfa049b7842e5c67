// `tally batch`: legs from a file or stdin, CSV or NDJSON, all or none, bounded.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { batchInputBytesMax } from '../../src/cli/batch.ts';
import type { Ledger } from '../../src/ledger/client.ts';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';
import { tally, useSharedLedger } from './tally.ts';

const dir = mkdtempSync(join(tmpdir(), 'tally-batch-'));
const file = (name: string, text: string) => { const path = join(dir, name); writeFileSync(path, text); return path; };

describe('tally batch', function () {
  this.timeout(30_000);
  const sharedLedger = useSharedLedger();
  let ledger: Ledger;

  before(async () => {
    ledger = sharedLedger();
  });

  const freshToken = async (decimals = 0) => {
    const sym = uniqueSymbol('CLB');
    await ledger.init(sym, { name: 'Batch', decimals, totalSupply: '1000', treasury: 'alice' });
    return sym;
  };
  const balances = (sym: string, accounts: string[]) => Promise.all(accounts.map((a) => ledger.balance(sym, a)));

  it('applies CSV legs from a file, with a header, comments and blank lines, in order', async () => {
    const sym = await freshToken();
    const legs = file('legs.csv', 'from,to,amount\n# payroll\nalice,bob,100\n\nbob,carol,40\r\nalice,0.0.1234,1\n');
    const run = await tally(['batch', sym, legs, '--op-id', 'pay-1']);
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout)).to.include({ legs: 3 });
    expect(await balances(sym, ['alice', 'bob', 'carol', '0.0.1234'])).to.deep.equal(['899', '60', '40', '1']);
    const replay = await tally(['batch', sym, legs, '--op-id', 'pay-1']);
    expect(replay.stdout).to.equal(run.stdout);
    expect(await ledger.balance(sym, 'alice')).to.equal('899');
  });

  it('reads NDJSON legs from stdin, amounts in tokens with --human', async () => {
    const sym = await freshToken(2);
    const stdin = '{"from":"alice","to":"bob","amount":"1.5"}\n{"from":"alice","to":"carol","amount":"0.25"}\n';
    const run = await tally(['batch', sym, '--human'], {}, { stdin });
    expect(run.code, run.stderr).to.equal(0);
    expect(await balances(sym, ['bob', 'carol'])).to.deep.equal(['150', '25']);
    const dash = await tally(['batch', sym, '-', '--format', 'csv'], {}, { stdin: 'alice,dave,5\n' });
    expect(dash.code, dash.stderr).to.equal(0);
    expect(await ledger.balance(sym, 'dave')).to.equal('5');
  });

  it('applies no leg when one fails in the ledger, and exits 1 with the code', async () => {
    const sym = await freshToken();
    const run = await tally(['batch', sym, file('short.csv', 'alice,bob,600\nbob,carol,700\n')]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/^tally: INSUFFICIENT_FUNDS: /);
    expect(await balances(sym, ['alice', 'bob', 'carol'])).to.deep.equal(['1000', '0', '0']);
  });

  it('exits 2 before touching Redis on bad input: shape, JSON, size, leg count, empty, no file', async () => {
    const sym = await freshToken();
    const tooMany = Array.from({ length: 1001 }, (_, i) => `alice,acct${i},1`).join('\n');
    const runs = await Promise.all([
      tally(['batch', sym, file('two.csv', 'alice,bob\n')]),
      tally(['batch', sym, file('bad.ndjson', '{"from":"alice","to":"bob","amount":1}\n')]),
      tally(['batch', sym, file('broken.ndjson', '{"from":\n')]),
      tally(['batch', sym, file('big.csv', `alice,bob,1\n${'#'.repeat(batchInputBytesMax)}\n`)]),
      tally(['batch', sym, file('many.csv', tooMany)]),
      tally(['batch', sym], {}, { stdin: '\n# nothing\n' }),
      tally(['batch', sym, join(dir, 'missing.csv')]),
      tally(['batch', sym, '--format', 'xml'], {}, { stdin: 'alice,bob,1\n' }),
    ]);
    const messages = [/line 1: expected from,to,amount/, /"amount" must be a string/, /line 1: not JSON/, /at most 1048576/, /at most 1000 legs/, /no legs/, /cannot read/, /csv or ndjson/];
    runs.forEach((run, i) => {
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr).to.match(messages[i]!);
    });
    expect(await ledger.balance(sym, 'alice')).to.equal('1000');
    const thousand = await tally(['batch', sym, file('thousand.csv', tooMany.split('\n').slice(0, 1000).join('\n'))]);
    expect(JSON.parse(thousand.stdout)).to.include({ legs: 1000 });
  });
});
