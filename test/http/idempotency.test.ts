// Idempotency-Key over HTTP: a repeat answers the same status and body and moves funds once,
// even concurrently and after balances changed; the same key with another body is 409; a
// failed call records nothing, so its retry runs.
import { expect } from 'chai';
import { call, makeToken, mint, startApp, type TestApp } from './support.ts';
import { dumpToken } from '../../testkit/ledger-state.ts';

describe('HTTP idempotency', () => {
  let app: TestApp;
  const alice = mint('alice');
  const admin = mint('ops', { admin: true });
  const post = (path: string, body: unknown, key: string, token = alice) => call(app.url, 'POST', path, { token, body, headers: { 'idempotency-key': key } });

  before(async () => { app = await startApp(); });
  after(async () => { await app.close(); });

  it('transfer: the same key twice answers the same status and body, and moves funds once', async () => {
    const symbol = await makeToken(app.ledger, { supply: '1000' });
    const path = `/v1/tokens/${symbol}/transfers`;
    const first = await post(path, { to: 'bob', amount: '100' }, 'order-1');
    // Balances move in between: the replay still answers the recorded reply.
    await app.ledger.transfer(symbol, { from: 'alice', to: 'carol', amount: '5' });
    const second = await post(path, { to: 'bob', amount: '100' }, 'order-1');
    expect(first.status).to.equal(201);
    expect(second.status).to.equal(first.status);
    expect(second.text).to.equal(first.text);
    expect(await app.ledger.balance(symbol, 'bob')).to.equal('100');
    expect(await app.ledger.balance(symbol, 'alice')).to.equal('895');
  });

  it('transfer: the same key with another body is 409 OP_CONFLICT and moves nothing', async () => {
    const symbol = await makeToken(app.ledger, { supply: '1000' });
    const path = `/v1/tokens/${symbol}/transfers`;
    await post(path, { to: 'bob', amount: '100' }, 'order-2');
    const before = await dumpToken(app.redis, symbol);
    for (const body of [{ to: 'bob', amount: '101' }, { to: 'carol', amount: '100' }]) {
      const reply = await post(path, body, 'order-2');
      expect(reply.status).to.equal(409);
      expect(reply.body.error.code).to.equal('OP_CONFLICT');
    }
    // The parameters are what the ledger sees: the same key for another source account conflicts,
    // while an admin naming the same source gets the recorded answer.
    expect((await post(path, { to: 'bob', amount: '100' }, 'order-2', admin)).status).to.equal(409);
    const sameParams = await post(path, { from: 'alice', to: 'bob', amount: '100' }, 'order-2', admin);
    expect(sameParams.status).to.equal(201);
    expect(sameParams.text).to.equal((await post(path, { to: 'bob', amount: '100' }, 'order-2')).text);
    expect(await dumpToken(app.redis, symbol)).to.deep.equal(before);
  });

  it('transfer: 20 concurrent requests with one key all get the same answer; funds move once', async () => {
    const symbol = await makeToken(app.ledger, { supply: '1000' });
    const replies = await Promise.all(Array.from({ length: 20 }, () => post(`/v1/tokens/${symbol}/transfers`, { to: 'bob', amount: '7' }, 'burst-1')));
    expect(new Set(replies.map((r) => `${r.status} ${r.text}`)).size).to.equal(1);
    expect(replies[0]!.status).to.equal(201);
    expect(await app.ledger.balance(symbol, 'bob')).to.equal('7');
  });

  it('burn and batch: a replay answers the same status and body and changes nothing', async () => {
    const symbol = await makeToken(app.ledger, { supply: '1000' });
    const burn = () => post(`/v1/tokens/${symbol}/burns`, { amount: '10' }, 'burn-1');
    const firstBurn = await burn();
    const batch = () => post(`/v1/tokens/${symbol}/transfers/batch`, { legs: [{ from: 'alice', to: 'bob', amount: '3' }, { from: 'bob', to: 'carol', amount: '1' }] }, 'batch-1', admin);
    const firstBatch = await batch();
    const state = await dumpToken(app.redis, symbol);
    const [againBurn, againBatch] = [await burn(), await batch()];
    expect([firstBurn.status, firstBatch.status]).to.deep.equal([201, 201]);
    expect(againBurn.status).to.equal(201);
    expect(againBurn.text).to.equal(firstBurn.text);
    expect(againBatch.status).to.equal(201);
    expect(againBatch.text).to.equal(firstBatch.text);
    expect(await dumpToken(app.redis, symbol)).to.deep.equal(state);
    expect((await app.ledger.supply(symbol)).circulatingSupply).to.equal('990');
  });

  it('a failed call records nothing: the retry with the same key runs once funds are there', async () => {
    const symbol = await makeToken(app.ledger, { supply: '1000', treasury: 'treasury' });
    const path = `/v1/tokens/${symbol}/transfers`;
    const failed = await post(path, { to: 'bob', amount: '50' }, 'retry-1');
    expect(failed.status).to.equal(422);
    expect(failed.body.error.code).to.equal('INSUFFICIENT_FUNDS');
    await app.ledger.transfer(symbol, { from: 'treasury', to: 'alice', amount: '50' });
    const retried = await post(path, { to: 'bob', amount: '50' }, 'retry-1');
    expect(retried.status).to.equal(201);
    expect(retried.body).to.include({ fromBalance: '0', toBalance: '50' });
  });

  it('a malformed Idempotency-Key is 400 and moves nothing', async () => {
    const symbol = await makeToken(app.ledger, { supply: '1000' });
    const before = await dumpToken(app.redis, symbol);
    const reply = await post(`/v1/tokens/${symbol}/transfers`, { to: 'bob', amount: '1' }, 'has space');
    expect(reply.status).to.equal(400);
    expect(reply.body.error.code).to.equal('INVALID_ARGUMENT');
    expect(reply.body.error.message).to.match(/idempotency-key/);
    expect(await dumpToken(app.redis, symbol)).to.deep.equal(before);
  });
});
