// The `tally` command as users run it: bin/tally.js in a child process against the shared Redis.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { UsageError } from '../src/cli/context.ts';
import { fromBaseUnits, toBaseUnits } from '../src/cli/ledger.ts';
import type { Ledger } from '../src/ledger/client.ts';
import { uniqueSymbol } from '../testkit/shared-redis.ts';
import { tally, useSharedLedger } from './cli/tally.ts';

describe('tally CLI', function () {
  this.timeout(30_000);
  const sharedLedger = useSharedLedger();
  let ledger: Ledger;

  before(async () => {
    ledger = sharedLedger();
  });

  it('--help lists the ledger commands and exits 0', async () => {
    const run = await tally(['--help']);
    expect(run.code).to.equal(0);
    for (const command of ['init', 'balance', 'transfer', 'burn', 'top', 'token']) expect(run.stdout).to.match(new RegExp(`\\n  ${command} `));
  });

  it('init, transfer, burn, balance and top work end to end, in base units and with --human', async () => {
    const sym = uniqueSymbol('CLI');
    const init = await tally(['init', sym, '--name', 'Cli Gold', '--decimals', '6', '--supply', '1000.5', '--human', '--treasury', 'alice']);
    expect(init.code, init.stderr).to.equal(0);
    expect(JSON.parse(init.stdout)).to.deep.equal({ symbol: sym, created: true, totalSupply: '1000500000', treasury: 'alice' });
    const again = await tally(['init', sym, '--name', 'Cli Gold', '--decimals', '6', '--supply', '1000500000', '--treasury', 'alice']);
    expect(JSON.parse(again.stdout).created).to.equal(false);

    const transfer = await tally(['transfer', sym, 'alice', '0.0.1234', '1.25', '--human', '--op-id', 'cli-1']);
    expect(transfer.code, transfer.stderr).to.equal(0);
    expect(JSON.parse(transfer.stdout)).to.include({ fromBalance: '999.25', toBalance: '1.25' });
    const replay = await tally(['transfer', sym, 'alice', '0.0.1234', '1.25', '--human', '--op-id', 'cli-1']);
    expect(replay.stdout).to.equal(transfer.stdout);
    expect(await ledger.balance(sym, '0.0.1234')).to.equal('1250000');

    const burn = await tally(['burn', sym, '0.0.1234', '250000']);
    expect(JSON.parse(burn.stdout)).to.include({ balance: '1000000', circulatingSupply: '1000250000' });

    expect((await tally(['balance', sym, '0.0.1234'])).stdout).to.equal('1000000\n');
    expect((await tally(['balance', sym, '0.0.1234', '--human'])).stdout).to.equal('1\n');
    expect((await tally(['balance', sym, 'nobody'])).stdout).to.equal('0\n');
    const top = await tally(['top', sym, '--limit', '5', '--human']);
    expect(top.stdout).to.equal('alice\t999.25\n0.0.1234\t1\n');
  });

  it('prints the ledger error code on stderr and exits 1', async () => {
    const sym = uniqueSymbol('CLI');
    await ledger.init(sym, { name: 'x', decimals: 0, totalSupply: '10', treasury: 'alice' });
    const runs = await Promise.all([
      tally(['transfer', sym, 'alice', 'bob', '11']),
      tally(['transfer', sym, 'alice', 'alice', '1']),
      tally(['burn', sym, 'alice', '1e3']),
      tally(['balance', uniqueSymbol('NONE'), 'alice']),
      tally(['init', sym, '--name', 'y', '--decimals', '0', '--supply', '10', '--treasury', 'alice']),
      tally(['transfer', sym, 'alice', 'bob', '1', '--op-id', 'bad id']),
    ]);
    const codes = ['INSUFFICIENT_FUNDS', 'SAME_ACCOUNT', 'INVALID_AMOUNT', 'TOKEN_NOT_FOUND', 'TOKEN_EXISTS', 'INVALID_ARGUMENT'];
    runs.forEach((run, i) => {
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stderr).to.match(new RegExp(`^tally: ${codes[i]}: `));
      expect(run.stdout).to.equal('');
    });
    expect(await ledger.balance(sym, 'alice')).to.equal('10');
  });

  it('exits 2 on usage errors, with a message on stderr', async () => {
    const sym = uniqueSymbol('CLI');
    await ledger.init(sym, { name: 'x', decimals: 2, totalSupply: '1000', treasury: 'alice' });
    const runs = await Promise.all([
      tally([]),
      tally(['frobnicate']),
      tally(['transfer', sym, 'alice']),
      tally(['top', sym, '--limit', '0']),
      tally(['transfer', sym, 'alice', 'bob', '0.001', '--human']),
      tally(['balance', sym, 'alice'], { REDIS_URL: '' }),
      tally(['balance', sym, 'alice'], { REDIS_URL: 'http://wrong' }),
    ]);
    for (const run of runs) {
      expect(run.code, `${run.stdout}${run.stderr}`).to.equal(2);
      expect(run.stderr).not.to.equal('');
    }
    expect(runs[4]!.stderr).to.include('has more than 2 decimals');
    expect(runs[5]!.stderr).to.include('REDIS_URL or REDIS_CLUSTER_URLS');
    expect(await ledger.balance(sym, 'alice')).to.equal('1000');
  });

  it('exits 1 with a clear message when Redis cannot be reached', async () => {
    const run = await tally(['balance', 'GOLD', 'alice'], { REDIS_URL: 'redis://127.0.0.1:9' });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.equal('tally: cannot reach Redis at redis://127.0.0.1:9\n');
  });

  it('token mints an HS256 JWT for the API from JWT_SECRET or data/dev-jwt-secret', async () => {
    const secret = 'cli-secret-0123456789abcdef0123456789';
    const admin = await tally(['token', 'ops', '--admin', '--ttl', '15m'], { JWT_SECRET: secret, JWT_ISSUER: 'tally-dev', JWT_AUDIENCE: 'api' });
    expect(admin.code, admin.stderr).to.equal(0);
    const claims = jwt.verify(admin.stdout.trim(), secret, { algorithms: ['HS256'], issuer: 'tally-dev', audience: 'api' }) as jwt.JwtPayload;
    expect(claims).to.include({ sub: 'ops' });
    expect(claims.roles).to.deep.equal(['admin']);
    expect(claims.exp! - claims.iat!).to.equal(900);

    const dataDir = mkdtempSync(join(tmpdir(), 'tally-data-'));
    writeFileSync(join(dataDir, 'dev-jwt-secret'), `${secret}\n`);
    const user = await tally(['token', 'alice'], { DATA_DIR: dataDir });
    expect((jwt.verify(user.stdout.trim(), secret) as jwt.JwtPayload).roles).to.deep.equal([]);

    const missing = await tally(['token', 'alice'], { DATA_DIR: join(dataDir, 'none') });
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/set JWT_SECRET/);
  });

  it('dashboard prints a sign-in link with a dev token in the fragment, for PORT or --url', async () => {
    const secret = 'cli-secret-0123456789abcdef0123456789';
    const link = await tally(['dashboard', '--admin'], { JWT_SECRET: secret, PORT: '3456' });
    expect(link.code, link.stderr).to.equal(0);
    const match = /^http:\/\/127\.0\.0\.1:3456\/#token=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\n$/.exec(link.stdout);
    expect(match, link.stdout).to.not.equal(null);
    const claims = jwt.verify(match![1]!, secret, { algorithms: ['HS256'] }) as jwt.JwtPayload;
    expect(claims).to.include({ sub: 'ops' });
    expect(claims.roles).to.deep.equal(['admin']);

    const user = await tally(['dashboard', '--sub', 'alice', '--url', 'https://tally.example:8443/ignored/path'], { JWT_SECRET: secret });
    expect(user.stdout).to.match(/^https:\/\/tally\.example:8443\/#token=/);
    const userClaims = jwt.verify(user.stdout.trim().split('#token=')[1]!, secret) as jwt.JwtPayload;
    expect(userClaims).to.include({ sub: 'alice' });
    expect(userClaims.roles).to.deep.equal([]);

    const bad = await tally(['dashboard', '--url', 'ftp://x'], { JWT_SECRET: secret });
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/url must be an http:\/\/ or https:\/\/ URL/);
  });

  it('converts human amounts exactly', () => {
    expect(toBaseUnits('1.5', 6)).to.equal('1500000');
    expect(toBaseUnits('115792089237316195423570985008687907853269984665640564039457.584007913129639935', 18))
      .to.equal('115792089237316195423570985008687907853269984665640564039457584007913129639935');
    expect(fromBaseUnits('115792089237316195423570985008687907853269984665640564039457584007913129639935', 36))
      .to.equal('115792089237316195423570985008687907853269.984665640564039457584007913129639935');
    expect(fromBaseUnits('1', 36)).to.equal('0.000000000000000000000000000000000001');
    for (const bad of ['1e3', '-1', '.5', '1.', ' 1', '0x1']) expect(() => toBaseUnits(bad, 6), bad).to.throw(UsageError);
  });
});
