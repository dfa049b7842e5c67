// `tally airdrop` as a child process, on the same Redis and DATA_DIR as a running server (whose
// REST routes show the records it writes): it plans and pays in its own process; the same command
// again answers the same airdrop (printed when completed, resumed when it was cut short, here by
// SIGKILL); a new --key is a new airdrop; bad input exits 1 (or 2 for usage) with nothing paid.
import { expect } from 'chai';
import type { RedisClientType } from 'redis';
import { connect } from '../../testkit/clients.ts';
import type { FakeHolder } from '../../testkit/mirror-node.ts';
import { startProcess } from '../../testkit/processes.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { until } from '../../testkit/wait.ts';
import { mint } from '../http/support.ts';
import { startSnapshotApi, type SnapshotApi } from '../snapshots/api-rig.ts';
import { balancesInRedis } from './rig.ts';

const tokenId = '0.0.771001';
const admin = mint('cli-admin', { admin: true });
const holders: FakeHolder[] = [
  { account: '0.0.7100', balance: 1_000_000n }, { account: '0.0.7101', balance: 200n }, { account: '0.0.7102', balance: 99n },
  { account: '0.0.7103', balance: 2_500n }, { account: '0.0.7104', balance: 100n },
];

describe('tally airdrop', function () {
  this.timeout(120_000);
  let rig: SnapshotApi;
  let redis: RedisClientType;
  let snapshotId: string;

  before(async () => {
    rig = await startSnapshotApi({ tokens: [{ tokenId, name: 'Vote', symbol: 'VOTE', decimals: 2, totalSupply: 1_002_899n, holders, treasury: '0.0.7100' }] });
    redis = await connect(sharedRedisUrl());
    snapshotId = (await rig.snapshot({ tokenId })).snapshotId;
  });
  after(async () => {
    redis?.destroy();
    await rig?.close();
  });

  async function token(): Promise<string> {
    const symbol = uniqueSymbol('CLI');
    const init = await rig.tally(['init', symbol, '--name', 'Points', '--decimals', '0', '--supply', '1000000', '--treasury', 'points-treasury']);
    expect(init.code, init.stderr).to.equal(0);
    return symbol;
  }

  it('pays once; the same command again prints the same airdrop and pays nothing more; a new --key pays again', async () => {
    const symbol = await token();
    const args = ['airdrop', symbol, '--snapshot', snapshotId, '--pro-rata', '1000', '--exclude', '0.0.7100', '--min-balance', '100'];
    const first = await rig.tally(args);
    expect(first.code, first.stderr).to.equal(0);
    const printed = JSON.parse(first.stdout);
    expect(printed).to.include({ symbol, snapshotId, legs: 3, paid: 3, total: '1000', status: 'completed' });
    const again = await rig.tally(args);
    expect(again.code, again.stderr).to.equal(0);
    expect(JSON.parse(again.stdout)).to.deep.equal(printed);
    const balances = await balancesInRedis(redis, symbol);
    expect(Object.fromEntries(balances)).to.deep.equal({ 'points-treasury': 999_000n, '0.0.7101': 71n, '0.0.7103': 893n, '0.0.7104': 36n });
    // The record is the server's: REST lists it; the plan is the one REST would have made.
    const record = (await rig.api(`/v1/tokens/${symbol}/airdrops/${printed.airdropId}`, { token: admin })).body;
    expect(record).to.include({ status: 'completed', requestedBy: rig.env.USER ?? 'cli', planCid: printed.planCid });
    const viaRest = await rig.api(`/v1/tokens/${symbol}/airdrops`, { method: 'POST', token: admin, body: JSON.stringify({ snapshotId, rule: 'proRata', total: '1000', exclude: ['0.0.7100'], minBalance: '100' }) });
    expect(viaRest.body.planCid).to.equal(printed.planCid);

    const fixed = await rig.tally(['airdrop', symbol, '--snapshot', snapshotId, '--fixed', '5', '--exclude', '0.0.7100,0.0.7101', '--key', 'second-round']);
    expect(fixed.code, fixed.stderr).to.equal(0);
    expect(JSON.parse(fixed.stdout)).to.include({ legs: 3, total: '15', status: 'completed' });
    expect(JSON.parse(fixed.stdout).airdropId).not.to.equal(printed.airdropId);
  });

  it('resumes an airdrop whose process was SIGKILLed when the same command runs again', async () => {
    const symbol = await token();
    const args = ['airdrop', symbol, '--snapshot', snapshotId, '--fixed', '7', '--from', 'points-treasury'];
    const env = { PATH: process.env.PATH ?? '', ...rig.env, AIRDROP_CHUNK_LEGS: '1', AIRDROP_CHUNK_PAUSE_MS: '400' };
    const victim = startProcess({ args: ['bin/tally.js', ...args], env });
    let airdropId = '';
    await until(async () => {
      const page = (await rig.api(`/v1/tokens/${symbol}/airdrops`, { token: admin })).body;
      const record = page.airdrops?.[0];
      airdropId = record?.airdropId ?? '';
      return record?.paid >= 2;
    }, { what: 'two legs paid', timeoutMs: 30_000, stepMs: 20 });
    await victim.kill9();
    const cut = (await rig.api(`/v1/tokens/${symbol}/airdrops/${airdropId}`, { token: admin })).body;
    expect(cut.status).to.equal('running');
    expect(cut.paid).to.be.within(2, 4);
    const resumed = await rig.tally(args);
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect(resumed.stderr).to.match(new RegExp(`airdrop ${airdropId} was requested before with these arguments \\(\\d of 5 legs paid\\); resuming it`));
    expect(JSON.parse(resumed.stdout)).to.include({ airdropId, legs: 5, paid: 5, status: 'completed' });
    const balances = await balancesInRedis(redis, symbol);
    for (const h of holders) expect(balances.get(h.account), h.account).to.equal(7n);
    expect(balances.get('points-treasury')).to.equal(1_000_000n - 35n);
  });

  it('records a failure mid-way (funds moved out), and POST .../resume finishes it on a worker, each leg once', async () => {
    const symbol = await token();
    const move = (from: string, to: string, amount: string) => rig.api(`/v1/tokens/${symbol}/transfers`, { method: 'POST', token: admin, body: JSON.stringify({ from, to, amount }) });
    expect((await move('points-treasury', 'pool', '50')).status).to.equal(201);
    const args = ['airdrop', symbol, '--snapshot', snapshotId, '--fixed', '10', '--from', 'pool'];
    const env = { PATH: process.env.PATH ?? '', ...rig.env, AIRDROP_CHUNK_LEGS: '1', AIRDROP_CHUNK_PAUSE_MS: '400' };
    const runner = startProcess({ args: ['bin/tally.js', ...args], env });
    let airdropId = '';
    await until(async () => {
      const record = (await rig.api(`/v1/tokens/${symbol}/airdrops`, { token: admin })).body.airdrops?.[0];
      airdropId = record?.airdropId ?? '';
      return record?.paid >= 2;
    }, { what: 'two legs paid', timeoutMs: 30_000, stepMs: 20 });
    const left = (await balancesInRedis(redis, symbol)).get('pool')!;
    expect((await move('pool', 'elsewhere', String(left))).status).to.equal(201);
    const { code } = await runner.exited;
    expect(code).to.equal(1);
    expect(runner.stderr()).to.match(/^tally: INSUFFICIENT_FUNDS: /);
    const failed = (await rig.api(`/v1/tokens/${symbol}/airdrops/${airdropId}`, { token: admin })).body;
    expect(failed.status).to.equal('failed');
    expect(failed.chunkStartedAt, 'the chunk that failed was sent').to.be.a('string');
    expect(failed.error.code).to.equal('INSUFFICIENT_FUNDS');
    expect(failed.paid).to.be.within(2, 4);
    expect((await move('elsewhere', 'pool', String(left))).status).to.equal(201);
    const resumed = await rig.api(`/v1/tokens/${symbol}/airdrops/${airdropId}/resume`, { method: 'POST', token: admin });
    expect(resumed.status, resumed.text).to.equal(202);
    expect(resumed.body).to.deep.equal({ airdropId, status: 'pending' });
    await until(async () => (await rig.api(`/v1/tokens/${symbol}/airdrops/${airdropId}`, { token: admin })).body.status === 'completed', { what: 'the resumed airdrop', timeoutMs: 30_000, stepMs: 50 });
    const balances = await balancesInRedis(redis, symbol);
    for (const h of holders) expect(balances.get(h.account), h.account).to.equal(10n);
    expect(balances.has('pool')).to.equal(false);
    const again = await rig.api(`/v1/tokens/${symbol}/airdrops/${airdropId}/resume`, { method: 'POST', token: admin });
    expect(again.body).to.deep.equal({ airdropId, status: 'completed' });
  });

  it('refuses bad input with a code and pays nothing', async () => {
    const symbol = await token();
    const run = (args: string[]) => rig.tally(['airdrop', symbol, ...args]);
    const cases: [string[], number, RegExp][] = [
      [['--snapshot', '01890000-0000-7000-8000-000000000000', '--fixed', '1'], 1, /^tally: SNAPSHOT_NOT_FOUND: snapshot 01890000-0000-7000-8000-000000000000 not found\n$/],
      [['--snapshot', snapshotId, '--fixed', '0'], 1, /^tally: AIRDROP_PAYS_NOTHING: /],
      [['--snapshot', snapshotId, '--fixed', String(2n ** 256n)], 1, /^tally: INVALID_AMOUNT: amount must be a base-unit integer/],
      [['--snapshot', snapshotId, '--pro-rata', '10', '--from', 'bad account'], 1, /^tally: INVALID_ACCOUNT: /],
      [['--snapshot', snapshotId, '--pro-rata', '10', '--from', 'empty'], 1, /^tally: INSUFFICIENT_FUNDS: empty holds 0, the airdrop pays 10: nothing was paid or recorded\n$/],
      [['--snapshot', 'nope', '--fixed', '1'], 1, /^tally: INVALID_ID: /],
      [['--fixed', '1'], 2, /--snapshot <snapshotId>/],
      [['--snapshot', snapshotId], 2, /exactly one rule/],
      [['--snapshot', snapshotId, '--fixed', '1', '--pro-rata', '1'], 2, /exactly one rule/],
    ];
    for (const [args, code, stderr] of cases) {
      const result = await run(args);
      expect(result.code, args.join(' ')).to.equal(code);
      expect(result.stderr, args.join(' ')).to.match(stderr);
      expect(result.stdout).to.equal('');
    }
    const unknown = await rig.tally(['airdrop', uniqueSymbol('NO'), '--snapshot', snapshotId, '--fixed', '1']);
    expect(unknown.stderr).to.match(/^tally: TOKEN_NOT_FOUND: /);
    expect([...(await balancesInRedis(redis, symbol))]).to.deep.equal([['points-treasury', 1_000_000n]]);
    expect((await rig.api(`/v1/tokens/${symbol}/airdrops`, { token: admin })).body).to.deep.equal({ airdrops: [], next: null });
  });
});
