// Idempotency-Key over HTTP: a repeat answers the same status and body and moves funds once,
// even concurrently and after balances changed; the same key with another body is 409; a
// failed call records nothing, so its retry runs; a key belongs to its caller (sub), so another
// caller's identical key neither conflicts nor replays.
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { opIdPattern } from '../../src/identifiers.ts';
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
    expect(await dumpToken(app.redis, symbol)).to.deep.equal(before);
  });

  it('a key belongs to its caller: bob using order-42 first neither blocks nor answers alice\'s order-42', async () => {
    const symbol = await makeToken(app.ledger, { supply: '1000', treasury: 'alice' });
    const path = `/v1/tokens/${symbol}/transfers`;
    await app.ledger.transfer(symbol, { from: 'alice', to: 'bob', amount: '100' });
    const bobs = await post(path, { to: 'carol', amount: '10' }, 'order-42', mint('bob'));
    expect(bobs.status).to.equal(201);
    const alices = await post(path, { to: 'carol', amount: '20' }, 'order-42');
    expect(alices.status, alices.text).to.equal(201);
    expect(alices.body).to.include({ fromBalance: '880', toBalance: '30' });
    // Identical parameters from another caller are not a replay either.
    const sameAsBob = await post(path, { from: 'bob', to: 'carol', amount: '10' }, 'order-42', admin);
    expect(sameAsBob.status).to.equal(201);
    expect(sameAsBob.body.eventId).to.not.equal(bobs.body.eventId);
    // Each caller's own repeat still replays.
    expect((await post(path, { to: 'carol', amount: '10' }, 'order-42', mint('bob'))).text).to.equal(bobs.text);
    expect((await post(path, { to: 'carol', amount: '20' }, 'order-42')).text).to.equal(alices.text);
    expect(await app.ledger.balance(symbol, 'carol')).to.equal('40');
  });

  it('an admin acting for an account is scoped by the admin\'s own sub, for transfers, burns and batches', async () => {
    const symbol = await makeToken(app.ledger, { supply: '1000' });
    const first = await post(`/v1/tokens/${symbol}/burns`, { amount: '5' }, 'same-key');
    const forAlice = await post(`/v1/tokens/${symbol}/burns`, { account: 'alice', amount: '5' }, 'same-key', admin);
    expect([first.status, forAlice.status]).to.deep.equal([201, 201]);
    expect(forAlice.body.circulatingSupply).to.equal('990');
    const again = await post(`/v1/tokens/${symbol}/burns`, { account: 'alice', amount: '5' }, 'same-key', admin);
    expect(again.text).to.equal(forAlice.text);
    const batch = { legs: [{ from: 'alice', to: 'bob', amount: '1' }] };
    const otherAdmin = mint('ops2', { admin: true });
    const a = await post(`/v1/tokens/${symbol}/transfers/batch`, batch, 'batch-key', admin);
    const b = await post(`/v1/tokens/${symbol}/transfers/batch`, batch, 'batch-key', otherAdmin);
    expect([a.status, b.status]).to.deep.equal([201, 201]);
    expect(b.body.eventId).to.not.equal(a.body.eventId);
    expect(await app.ledger.balance(symbol, 'bob')).to.equal('2');
  });

  it('the ledger opId of a REST key is rest:<sha256 of sub, newline, key>, within the opId rule', async () => {
    const symbol = await makeToken(app.ledger, { supply: '1000' });
    const key = 'k'.repeat(128);
    expect((await post(`/v1/tokens/${symbol}/burns`, { amount: '1' }, key)).status).to.equal(201);
    const { events } = await app.ledger.events(symbol, { count: 10 });
    const expected = `rest:${createHash('sha256').update(`alice\n${key}`).digest('hex')}`;
    expect(events.at(-1)?.opId).to.equal(expected);
    expect(expected).to.match(opIdPattern);
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
