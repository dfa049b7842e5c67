// GET /v1/tokens/:sym/audit: the invariant checker over REST, for admins only. A healthy token
// reports ok; a planted inconsistency is named; a second audit while one runs is refused.
import { expect } from 'chai';
import type { RedisClientType } from 'redis';
import { tokenKeys } from '../../src/ledger/keys.ts';
import { connect } from '../../testkit/clients.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { call, mint, startApp, type TestApp } from './support.ts';

describe('GET /v1/tokens/:sym/audit', () => {
  let app: TestApp;
  let redis: RedisClientType;
  const admin = mint('ops', { admin: true });
  before(async () => {
    app = await startApp();
    redis = await connect(sharedRedisUrl());
  });
  after(async () => {
    redis.destroy();
    await app.close();
  });

  async function token(): Promise<string> {
    const sym = uniqueSymbol('AU');
    await app.ledger.init(sym, { name: 'Audited', decimals: 0, totalSupply: String(2n ** 60n), treasury: 'treasury' });
    await app.ledger.transfer(sym, { from: 'treasury', to: 'alice', amount: '7' });
    await app.ledger.transferBatch(sym, { legs: [{ from: 'treasury', to: 'bob', amount: String(2n ** 54n) }, { from: 'alice', to: 'carol', amount: '2' }] });
    await app.ledger.burn(sym, { account: 'bob', amount: '1' });
    return sym;
  }

  it('reports a healthy token as ok to an admin', async () => {
    const sym = await token();
    const reply = await call(app.url, 'GET', `/v1/tokens/${sym}/audit`, { token: admin });
    expect(reply.status).to.equal(200);
    expect(reply.body).to.deep.equal({ symbol: sym, ok: true, violations: [], violationCount: 0, holders: 4, logEntries: 4 });
  });

  it('names a planted inconsistency, and changes nothing', async () => {
    const sym = await token();
    await redis.hSet(tokenKeys(sym).balances, 'alice', '6');
    const reply = await call(app.url, 'GET', `/v1/tokens/${sym}/audit`, { token: admin });
    expect(reply.status).to.equal(200);
    expect(reply.body.ok).to.equal(false);
    expect(reply.body.violations).to.include('alice holds 6 but the log gives 5');
    expect(await redis.hGet(tokenKeys(sym).balances, 'alice')).to.equal('6');
  });

  it('is for admins only: 401 without a token, 403 for a user, 404 for an unknown token, 400 for a bad symbol', async () => {
    const sym = await token();
    expect((await call(app.url, 'GET', `/v1/tokens/${sym}/audit`)).status).to.equal(401);
    const user = await call(app.url, 'GET', `/v1/tokens/${sym}/audit`, { token: mint('alice') });
    expect(user.status).to.equal(403);
    expect(user.body.error.code).to.equal('FORBIDDEN');
    const missing = await call(app.url, 'GET', `/v1/tokens/${uniqueSymbol('NO')}/audit`, { token: admin });
    expect(missing.status).to.equal(404);
    expect(missing.body.error.code).to.equal('TOKEN_NOT_FOUND');
    expect((await call(app.url, 'GET', '/v1/tokens/bad%20sym/audit', { token: admin })).status).to.equal(400);
  });

  it('runs one audit at a time per process: a concurrent one is 429 RATE_LIMITED', async () => {
    const sym = await token();
    // A log long enough that the first audit is still paging when the second arrives.
    for (let i = 0; i < 20; i++) {
      await Promise.all(Array.from({ length: 500 }, () => app.ledger.transfer(sym, { from: 'treasury', to: 'dave', amount: '1' })));
    }
    const [first, second] = await Promise.all([
      call(app.url, 'GET', `/v1/tokens/${sym}/audit`, { token: admin }),
      new Promise((resolve) => setTimeout(resolve, 5)).then(() => call(app.url, 'GET', `/v1/tokens/${sym}/audit`, { token: admin })),
    ]);
    expect(first.status).to.equal(200);
    expect(first.body.ok).to.equal(true);
    expect(second.status).to.equal(429);
    expect(second.body.error.code).to.equal('RATE_LIMITED');
    expect((await call(app.url, 'GET', `/v1/tokens/${sym}/audit`, { token: admin })).status, 'free again after').to.equal(200);
  });
});
