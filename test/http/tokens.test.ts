// Every /v1/tokens route over real HTTP on loopback against the shared Redis: success, each
// ledger error code's status and body, and who may do what (own account, another's, admin).
import { expect } from 'chai';
import { call, makeToken, mint, startApp, type TestApp } from './support.ts';
import { dumpToken } from '../../testkit/ledger-state.ts';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';

describe('HTTP /v1/tokens', () => {
  let app: TestApp;
  const admin = mint('ops', { admin: true });
  const alice = mint('alice');
  const bob = mint('bob');
  const get = (path: string, token = admin) => call(app.url, 'GET', path, { token });
  const post = (path: string, body: unknown, token = admin, headers: Record<string, string> = {}) => call(app.url, 'POST', path, { token, body, headers });

  before(async () => { app = await startApp(); });
  after(async () => { await app.close(); });

  function expectError(reply: { status: number; body: any }, status: number, code: string) {
    expect(reply.status, JSON.stringify(reply.body)).to.equal(status);
    expect(reply.body).to.have.all.keys('error');
    expect(reply.body.error).to.have.all.keys('code', 'message');
    expect(reply.body.error.code).to.equal(code);
    expect(reply.body.error.message).to.be.a('string').and.not.match(/\n\s+at /);
  }

  describe('POST /v1/tokens', () => {
    it('creates a token (201), answers 200 to an identical repeat and 409 TOKEN_EXISTS to a different one', async () => {
      const symbol = uniqueSymbol('C');
      const body = { symbol, name: 'Gold', decimals: 6, totalSupply: '1000000000000000000000000000', treasury: 'treasury' };
      const first = await post('/v1/tokens', body);
      expect(first.status).to.equal(201);
      expect(first.body).to.deep.equal(body);
      expect(first.headers.get('location')).to.equal(`/v1/tokens/${symbol}`);
      const again = await post('/v1/tokens', body);
      expect(again.status).to.equal(200);
      expect(again.body).to.deep.equal(body);
      expectError(await post('/v1/tokens', { ...body, totalSupply: '5' }), 409, 'TOKEN_EXISTS');
      expect(await app.ledger.balance(symbol, 'treasury')).to.equal('1000000000000000000000000000');
    });

    it('is admin only (403 FORBIDDEN for a user, nothing created)', async () => {
      const symbol = uniqueSymbol('C');
      expectError(await post('/v1/tokens', { symbol, name: 'X', decimals: 0, totalSupply: '1', treasury: 'alice' }, alice), 403, 'FORBIDDEN');
      expectError(await get(`/v1/tokens/${symbol}`), 404, 'TOKEN_NOT_FOUND');
    });

    it('rejects bad parameters with the ledger code of the field', async () => {
      const good = { symbol: uniqueSymbol('C'), name: 'X', decimals: 2, totalSupply: '100', treasury: 'alice' };
      expectError(await post('/v1/tokens', { ...good, decimals: 37 }), 400, 'INVALID_TOKEN');
      expectError(await post('/v1/tokens', { ...good, totalSupply: '0' }), 400, 'INVALID_TOKEN');
      expectError(await post('/v1/tokens', { ...good, name: 'bad\u0007name' }), 400, 'INVALID_TOKEN');
      expectError(await post('/v1/tokens', { ...good, symbol: 'lower' }), 400, 'INVALID_TOKEN');
      expectError(await post('/v1/tokens', { ...good, treasury: 'no spaces' }), 400, 'INVALID_ACCOUNT');
      expectError(await post('/v1/tokens', { ...good, extra: 1 }), 400, 'INVALID_ARGUMENT');
    });
  });

  describe('GET /v1/tokens and /v1/tokens/:sym', () => {
    it('lists every token across pages with the cursor', async () => {
      const created = await Promise.all([1, 2, 3].map(() => makeToken(app.ledger, { prefix: 'L' })));
      const seen: string[] = [];
      let next: string | null = null;
      for (let page = 0; page < 10_000; page++) {
        const reply = await get(`/v1/tokens?limit=1000${next ? `&cursor=${encodeURIComponent(next)}` : ''}`, alice);
        expect(reply.status).to.equal(200);
        seen.push(...reply.body.symbols);
        next = reply.body.next;
        if (next === null) break;
      }
      expect(seen).to.include.members(created);
      expect(new Set(seen).size).to.equal(seen.length);
    });

    it('rejects a forged cursor and a bad limit', async () => {
      expectError(await get('/v1/tokens?cursor=99:0', alice), 400, 'INVALID_ARGUMENT');
      expectError(await get('/v1/tokens?cursor=abc', alice), 400, 'INVALID_ARGUMENT');
      expectError(await get('/v1/tokens?limit=0', alice), 400, 'INVALID_ARGUMENT');
    });

    it('shows token info with supply and holder count to any user; 404 / 400 otherwise', async () => {
      const symbol = await makeToken(app.ledger, { supply: '1000' });
      await app.ledger.transfer(symbol, { from: 'alice', to: 'bob', amount: '10' });
      const reply = await get(`/v1/tokens/${symbol}`, bob);
      expect(reply.status).to.equal(200);
      expect(reply.body).to.include({ symbol, name: `Token ${symbol}`, decimals: 6, totalSupply: '1000', circulatingSupply: '1000', treasury: 'alice', holders: 2 });
      expectError(await get(`/v1/tokens/${uniqueSymbol('N')}`, bob), 404, 'TOKEN_NOT_FOUND');
      expectError(await get('/v1/tokens/not-a-symbol', bob), 400, 'INVALID_TOKEN');
    });
  });

  describe('GET /v1/tokens/:sym/balances/:account', () => {
    it('answers the account itself and admins, 403 for another user', async () => {
      const symbol = await makeToken(app.ledger, { supply: '500' });
      expect((await get(`/v1/tokens/${symbol}/balances/alice`, alice)).body).to.deep.equal({ account: 'alice', balance: '500' });
      expect((await get(`/v1/tokens/${symbol}/balances/alice`, admin)).body).to.deep.equal({ account: 'alice', balance: '500' });
      expectError(await get(`/v1/tokens/${symbol}/balances/alice`, bob), 403, 'FORBIDDEN');
      expect((await get(`/v1/tokens/${symbol}/balances/bob`, bob)).body).to.deep.equal({ account: 'bob', balance: '0' });
    });

    it('takes Hedera-style and email-like accounts in the path', async () => {
      const symbol = await makeToken(app.ledger, { supply: '500' });
      await app.ledger.transfer(symbol, { from: 'alice', to: '0.0.1234', amount: '7' });
      await app.ledger.transfer(symbol, { from: 'alice', to: 'carol@example.org', amount: '8' });
      expect((await get(`/v1/tokens/${symbol}/balances/0.0.1234`)).body.balance).to.equal('7');
      expect((await get(`/v1/tokens/${symbol}/balances/carol@example.org`)).body.balance).to.equal('8');
      expect((await get(`/v1/tokens/${symbol}/balances/carol%40example.org`)).body.balance).to.equal('8');
      expectError(await get(`/v1/tokens/${symbol}/balances/-bad`), 400, 'INVALID_ACCOUNT');
      expectError(await get(`/v1/tokens/${uniqueSymbol('N')}/balances/alice`, alice), 404, 'TOKEN_NOT_FOUND');
    });
  });

  describe('GET /v1/tokens/:sym/holders', () => {
    it('lists holders largest first, bounded by limit (1..1000, default 100)', async () => {
      const symbol = await makeToken(app.ledger, { supply: '1000' });
      await app.ledger.transfer(symbol, { from: 'alice', to: 'bob', amount: '300' });
      await app.ledger.transfer(symbol, { from: 'alice', to: 'carol', amount: '300' });
      const all = await get(`/v1/tokens/${symbol}/holders`, bob);
      expect(all.body).to.deep.equal({ holders: [{ account: 'alice', balance: '400' }, { account: 'bob', balance: '300' }, { account: 'carol', balance: '300' }], next: null });
      expect((await get(`/v1/tokens/${symbol}/holders?limit=1`, bob)).body.holders).to.have.length(1);
      expectError(await get(`/v1/tokens/${symbol}/holders?limit=0`, bob), 400, 'INVALID_ARGUMENT');
      expectError(await get(`/v1/tokens/${symbol}/holders?limit=1001`, bob), 400, 'INVALID_ARGUMENT');
      expectError(await get(`/v1/tokens/${symbol}/holders?limit=ten`, bob), 400, 'INVALID_ARGUMENT');
      expectError(await get(`/v1/tokens/${symbol}/holders?limit=5&other=1`, bob), 400, 'INVALID_ARGUMENT');
    });
  });

  describe('GET /v1/tokens/:sym/events', () => {
    it('gives admins every event, page by page', async () => {
      const symbol = await makeToken(app.ledger, { supply: '1000' });
      await app.ledger.transfer(symbol, { from: 'alice', to: 'bob', amount: '1' });
      await app.ledger.burn(symbol, { account: 'bob', amount: '1' });
      const first = await get(`/v1/tokens/${symbol}/events?limit=2`);
      expect(first.status).to.equal(200);
      expect(first.body.events.map((e: { type: string }) => e.type)).to.deep.equal(['init', 'transfer']);
      const rest = await get(`/v1/tokens/${symbol}/events?after=${first.body.next}&limit=10`);
      expect(rest.body.events.map((e: { type: string }) => e.type)).to.deep.equal(['burn']);
      expect(rest.body.events[0]).to.include({ account: 'bob', amount: '1' });
    });

    it('gives a user only the events of their own account, and 403 otherwise', async () => {
      const symbol = await makeToken(app.ledger, { supply: '1000' });
      await app.ledger.transfer(symbol, { from: 'alice', to: 'bob', amount: '1' });
      await app.ledger.transfer(symbol, { from: 'alice', to: 'carol', amount: '1' });
      const own = await get(`/v1/tokens/${symbol}/events?account=bob`, bob);
      expect(own.status).to.equal(200);
      expect(own.body.events).to.have.length(1);
      expect(own.body.events[0]).to.include({ type: 'transfer', from: 'alice', to: 'bob' });
      expectError(await get(`/v1/tokens/${symbol}/events`, bob), 403, 'FORBIDDEN');
      expectError(await get(`/v1/tokens/${symbol}/events?account=carol`, bob), 403, 'FORBIDDEN');
      expectError(await get(`/v1/tokens/${symbol}/events?after=yesterday`), 400, 'INVALID_ARGUMENT');
    });
  });

  describe('POST /v1/tokens/:sym/transfers', () => {
    it('moves the caller\'s funds (201 with the receipt)', async () => {
      const symbol = await makeToken(app.ledger, { supply: '1000' });
      const reply = await post(`/v1/tokens/${symbol}/transfers`, { to: 'bob', amount: '250' }, alice);
      expect(reply.status).to.equal(201);
      expect(reply.body).to.have.all.keys('eventId', 'fromBalance', 'toBalance');
      expect(reply.body).to.include({ fromBalance: '750', toBalance: '250' });
      expect(await app.ledger.balance(symbol, 'bob')).to.equal('250');
    });

    it('lets the caller name itself as from, and an admin move anyone\'s funds', async () => {
      const symbol = await makeToken(app.ledger, { supply: '1000' });
      expect((await post(`/v1/tokens/${symbol}/transfers`, { from: 'alice', to: 'bob', amount: '1' }, alice)).status).to.equal(201);
      expect((await post(`/v1/tokens/${symbol}/transfers`, { from: 'bob', to: 'carol', amount: '1' }, admin)).status).to.equal(201);
      expect(await app.ledger.balance(symbol, 'carol')).to.equal('1');
    });

    it('refuses a user moving another account\'s funds (403) and changes nothing', async () => {
      const symbol = await makeToken(app.ledger, { supply: '1000' });
      const before = await dumpToken(app.redis, symbol);
      expectError(await post(`/v1/tokens/${symbol}/transfers`, { from: 'alice', to: 'bob', amount: '1' }, bob), 403, 'FORBIDDEN');
      expect(await dumpToken(app.redis, symbol)).to.deep.equal(before);
    });

    it('maps each ledger failure to its status', async () => {
      const symbol = await makeToken(app.ledger, { supply: '1000' });
      const path = `/v1/tokens/${symbol}/transfers`;
      expectError(await post(path, { to: 'bob', amount: '1001' }, alice), 422, 'INSUFFICIENT_FUNDS');
      expectError(await post(path, { to: 'alice', amount: '1' }, alice), 422, 'SAME_ACCOUNT');
      expectError(await post(`/v1/tokens/${uniqueSymbol('N')}/transfers`, { to: 'bob', amount: '1' }, alice), 404, 'TOKEN_NOT_FOUND');
      for (const amount of ['0', '01', '-1', '1e3', '1.5', ' 1', '115792089237316195423570985008687907853269984665640564039457584007913129639936']) {
        expectError(await post(path, { to: 'bob', amount }, alice), 400, 'INVALID_AMOUNT');
      }
      expectError(await post(path, { to: 'b c', amount: '1' }, alice), 400, 'INVALID_ACCOUNT');
      expectError(await post(path, { to: 'bob', amount: '1' }, alice, { 'idempotency-key': '-bad' }), 400, 'INVALID_ARGUMENT');
      expect(await app.ledger.balance(symbol, 'alice')).to.equal('1000');
    });

    it('moves amounts up to 2^256 - 1 exactly', async () => {
      const max = ((1n << 256n) - 1n).toString();
      const symbol = await makeToken(app.ledger, { supply: max });
      const reply = await post(`/v1/tokens/${symbol}/transfers`, { to: 'bob', amount: (BigInt(max) - 1n).toString() }, alice);
      expect(reply.body).to.include({ fromBalance: '1', toBalance: (BigInt(max) - 1n).toString() });
    });
  });

  describe('POST /v1/tokens/:sym/transfers/batch', () => {
    it('applies every leg atomically for an admin (201)', async () => {
      const symbol = await makeToken(app.ledger, { supply: '1000' });
      const reply = await post(`/v1/tokens/${symbol}/transfers/batch`, { legs: [{ from: 'alice', to: 'bob', amount: '10' }, { from: 'bob', to: 'carol', amount: '4' }] });
      expect(reply.status).to.equal(201);
      expect(reply.body).to.have.all.keys('eventId', 'legs');
      expect(reply.body.legs).to.equal(2);
      expect(await app.ledger.balance(symbol, 'carol')).to.equal('4');
    });

    it('applies nothing when one leg fails (422), and is admin only (403)', async () => {
      const symbol = await makeToken(app.ledger, { supply: '1000' });
      const before = await dumpToken(app.redis, symbol);
      const legs = [{ from: 'alice', to: 'bob', amount: '10' }, { from: 'bob', to: 'carol', amount: '11' }];
      expectError(await post(`/v1/tokens/${symbol}/transfers/batch`, { legs }), 422, 'INSUFFICIENT_FUNDS');
      expectError(await post(`/v1/tokens/${symbol}/transfers/batch`, { legs: [{ from: 'alice', to: 'bob', amount: '1' }] }, alice), 403, 'FORBIDDEN');
      expectError(await post(`/v1/tokens/${symbol}/transfers/batch`, { legs: [] }), 400, 'INVALID_ARGUMENT');
      expectError(await post(`/v1/tokens/${symbol}/transfers/batch`, { legs: [{ from: 'alice', to: 'alice', amount: '1' }] }), 422, 'SAME_ACCOUNT');
      expect(await dumpToken(app.redis, symbol)).to.deep.equal(before);
    });
  });

  describe('POST /v1/tokens/:sym/burns', () => {
    it('burns the caller\'s funds (201) and lowers the circulating supply', async () => {
      const symbol = await makeToken(app.ledger, { supply: '1000' });
      const reply = await post(`/v1/tokens/${symbol}/burns`, { amount: '100' }, alice);
      expect(reply.status).to.equal(201);
      expect(reply.body).to.have.all.keys('eventId', 'balance', 'circulatingSupply');
      expect(reply.body).to.include({ balance: '900', circulatingSupply: '900' });
      expect((await app.ledger.supply(symbol)).circulatingSupply).to.equal('900');
    });

    it('lets an admin burn any account and refuses a user burning another\'s (403, nothing changes)', async () => {
      const symbol = await makeToken(app.ledger, { supply: '1000' });
      expect((await post(`/v1/tokens/${symbol}/burns`, { account: 'alice', amount: '1' }, admin)).status).to.equal(201);
      const before = await dumpToken(app.redis, symbol);
      expectError(await post(`/v1/tokens/${symbol}/burns`, { account: 'alice', amount: '1' }, bob), 403, 'FORBIDDEN');
      expectError(await post(`/v1/tokens/${symbol}/burns`, { amount: '1' }, bob), 422, 'INSUFFICIENT_FUNDS');
      expect(await dumpToken(app.redis, symbol)).to.deep.equal(before);
    });
  });

  it('answers every ledger error code with its catalog status and the JSON error body', async () => {
    const symbol = await makeToken(app.ledger, { supply: '1000' });
    await post(`/v1/tokens/${symbol}/transfers`, { to: 'bob', amount: '1' }, alice, { 'idempotency-key': 'used-once' });
    const cases: [string, Promise<{ status: number; body: any }>, number][] = [
      ['INVALID_TOKEN', get('/v1/tokens/lower-case'), 400],
      ['INVALID_ARGUMENT', get(`/v1/tokens/${symbol}/holders?limit=0`), 400],
      ['INVALID_ACCOUNT', get(`/v1/tokens/${symbol}/balances/.dot`), 400],
      ['INVALID_AMOUNT', post(`/v1/tokens/${symbol}/burns`, { amount: '-5' }, alice), 400],
      ['SAME_ACCOUNT', post(`/v1/tokens/${symbol}/transfers`, { to: 'alice', amount: '1' }, alice), 422],
      ['TOKEN_NOT_FOUND', get(`/v1/tokens/${uniqueSymbol('N')}`), 404],
      ['TOKEN_EXISTS', post('/v1/tokens', { symbol, name: 'other', decimals: 0, totalSupply: '1', treasury: 'x' }), 409],
      ['OP_CONFLICT', post(`/v1/tokens/${symbol}/transfers`, { to: 'bob', amount: '2' }, alice, { 'idempotency-key': 'used-once' }), 409],
      ['INSUFFICIENT_FUNDS', post(`/v1/tokens/${symbol}/burns`, { amount: '1' }, mint('nobody')), 422],
    ];
    for (const [code, reply, status] of cases) expectError(await reply, status, code);
  });
});
