// `tally snapshot --ledger`, `tally balance --at`, `tally top --at` as child processes against the
// shared Redis, compared with the independent model of test/history/workload.ts.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';
import { expectedSnapshot, expectedTop, generateWorkload, type Workload } from '../history/workload.ts';
import { tally, useSharedLedger } from './tally.ts';

describe('tally snapshot --ledger, balance --at, top --at', function () {
  this.timeout(120_000);
  const ledger = useSharedLedger();
  const symbol = uniqueSymbol('C');
  let workload: Workload;
  let dataDir: string;
  let env: Record<string, string>;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tally-cli-history-'));
    env = { DATA_DIR: dataDir, TALLY_NAMESPACE: `clih${uniqueSymbol().toLowerCase()}` };
    workload = await generateWorkload(ledger(), symbol, { operations: 4_000, accounts: 60, seed: 31 });
  });
  after(() => { rmSync(dataDir, { recursive: true, force: true }); });

  it('snapshots the token at an event id, prints its record, and `tally cat` gives the model\'s bytes', async () => {
    const point = workload.rounds[Math.floor(workload.rounds.length / 2)]!;
    const run = await tally(['snapshot', '--ledger', symbol, '--at', point.eventId], env);
    expect(run.code, run.stderr).to.equal(0);
    const printed = JSON.parse(run.stdout);
    expect(printed).to.include({ tokenId: symbol, consensusTimestamp: point.eventId, totalBalance: String(point.circulating) });
    const cat = await tally(['cat', printed.cid], env);
    expect(cat.stdout).to.equal(expectedSnapshot(workload, point));
  });

  it('answers balance --at and top --at as the model, with or without a checkpoint, and refuses a bad --at', async () => {
    for (const point of [workload.rounds[1]!, workload.rounds.at(-1)!]) {
      const account = workload.accounts[7]!;
      const balance = await tally(['balance', symbol, account, '--at', point.eventId], env);
      expect(balance.code, balance.stderr).to.equal(0);
      expect(balance.stdout.trim()).to.equal(String(point.balances.get(account) ?? 0n));
      const top = await tally(['top', symbol, '--limit', '5', '--at', point.eventId], env);
      expect(top.stdout.trim().split('\n')).to.deep.equal(expectedTop(point, 5).map((h) => `${h.account}\t${h.balance}`));
    }
    const bad = await tally(['balance', symbol, 'x', '--at', 'soon'], env);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.include('INVALID_AT');
  });
});
