// Pagination behaves the same on every list route: `limit` is honoured, the order is stable,
// `next` is null on the last page, and a malformed cursor is 400 naming the real field (`next`),
// never 500. The events route also answers `tail`, where to poll for later events.
import { expect } from 'chai';
import { connectRedis } from '../../src/connections.ts';
import type { SnapshotService } from '../../src/snapshots/service.ts';
import { createRedisSnapshotStore } from '../../src/snapshots/store/redis.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { call, makeToken, mint, startApp, type TestApp } from './support.ts';

describe('HTTP pagination', () => {
  let app: TestApp;
  let store: ReturnType<typeof createRedisSnapshotStore>;
  const admin = mint('ops', { admin: true });
  const get = (path: string, token = admin) => call(app.url, 'GET', path, { token });

  before(async () => {
    // A real snapshot store: the list routes only need service.store.
    const redis = await connectRedis({ url: sharedRedisUrl() } as never);
    store = createRedisSnapshotStore({ redis, keyPrefix: `test:snap:${uniqueSymbol()}:`, ownsConnection: true });
    app = await startApp({ parts: { snapshots: { store } as unknown as SnapshotService } });
  });
  after(async () => { await app.close(); await store.close(); });

  async function pages(path: (cursor: string | null) => string, field: string): Promise<{ items: unknown[][]; nexts: (string | null)[] }> {
    const items: unknown[][] = [];
    const nexts: (string | null)[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10_000; i++) {
      const reply = await get(path(cursor));
      expect(reply.status, reply.text).to.equal(200);
      items.push(reply.body[field]);
      nexts.push(reply.body.next);
      cursor = reply.body.next;
      if (cursor === null) break;
    }
    return { items, nexts };
  }

  it('GET /v1/tokens: limit=2 gives 2 symbols, ascending, across pages, next null at the end', async () => {
    await Promise.all([1, 2, 3].map(() => makeToken(app.ledger, { prefix: 'PG' })));
    const { items } = await pages((c) => `/v1/tokens?limit=2${c ? `&cursor=${c}` : ''}`, 'symbols');
    for (const page of items.slice(0, -1)) expect(page).to.have.length(2);
    const all = items.flat() as string[];
    expect(all).to.deep.equal([...all].sort());
    expect(new Set(all).size).to.equal(all.length);
    const whole = (await get('/v1/tokens?limit=1000')).body;
    if (whole.next === null) expect(all).to.deep.equal(whole.symbols);
  });

  it('GET /v1/tokens?prefix=: only the symbols that start with it, paged; a malformed prefix is 400', async () => {
    const made = await Promise.all([1, 2, 3].map(() => makeToken(app.ledger, { prefix: 'PFX' })));
    const prefix = made[0]!.slice(0, 5); // PFX + two hex digits: at least made[0]
    const expected = made.filter((s) => s.startsWith(prefix)).sort();
    const { items } = await pages((c) => `/v1/tokens?limit=1&prefix=${prefix}${c ? `&cursor=${c}` : ''}`, 'symbols');
    const all = items.flat() as string[];
    for (const symbol of all) expect(symbol.startsWith(prefix), symbol).to.equal(true);
    expect(all).to.include.members(expected);
    expect(all).to.deep.equal([...all].sort());
    const bad = await get('/v1/tokens?prefix=gold');
    expect(bad.status).to.equal(400);
    expect(bad.body.error).to.deep.equal({ code: 'INVALID_ARGUMENT', message: 'query.prefix: must be the start of a token symbol (^[A-Z0-9][A-Z0-9_-]{0,31}$)' });
  });

  it('GET /v1/tokens: a malformed or out-of-range cursor is 400, never 500', async () => {
    for (const cursor of ['0:18446744073709551616', '99:0', 'abc', '%00', 'A'.repeat(33)]) {
      const reply = await get(`/v1/tokens?cursor=${encodeURIComponent(cursor)}`);
      expect(reply.status, `${cursor}: ${reply.text}`).to.equal(400);
      expect(reply.body.error.code).to.equal('INVALID_ARGUMENT');
      expect(reply.body.error.message).to.match(/query\.cursor: must be the next of a previous page/);
    }
  });

  it('GET /v1/tokens/:sym/holders: pages in balance order with a cursor, next null on the last page', async () => {
    const symbol = await makeToken(app.ledger, { supply: '1000', treasury: 'treasury' });
    // Balances 100, 50, 50, 50, 10, 1 (ties by account ascending), treasury the rest.
    for (const [to, amount] of [['a', '100'], ['c', '50'], ['b', '50'], ['d.x', '50'], ['e', '10'], ['f', '1']] as const) {
      await app.ledger.transfer(symbol, { from: 'treasury', to, amount });
    }
    const expected = await app.ledger.top(symbol, 100);
    const { items, nexts } = await pages((c) => `/v1/tokens/${symbol}/holders?limit=2${c ? `&cursor=${encodeURIComponent(c)}` : ''}`, 'holders');
    expect(items.map((p) => p.length)).to.deep.equal([2, 2, 2, 1]);
    expect(items.flat()).to.deep.equal(expected);
    expect(nexts.at(-1)).to.equal(null);
    const one = (await get(`/v1/tokens/${symbol}/holders?limit=100`)).body;
    expect(one).to.deep.equal({ holders: expected, next: null });
  });

  it('GET /v1/tokens/:sym/holders: a holder that moves between pages is not repeated; a bad cursor is 400', async () => {
    const symbol = await makeToken(app.ledger, { supply: '1000', treasury: 'treasury' });
    for (const [to, amount] of [['a', '300'], ['b', '200'], ['c', '100']] as const) await app.ledger.transfer(symbol, { from: 'treasury', to, amount });
    const first = (await get(`/v1/tokens/${symbol}/holders?limit=2`)).body; // treasury 400, a 300
    expect(first.holders.map((h: { account: string }) => h.account)).to.deep.equal(['treasury', 'a']);
    await app.ledger.transfer(symbol, { from: 'treasury', to: 'c', amount: '350' }); // c 450 moves above the cursor
    const second = (await get(`/v1/tokens/${symbol}/holders?limit=2&cursor=${encodeURIComponent(first.next)}`)).body;
    expect(second).to.deep.equal({ holders: [{ account: 'b', balance: '200' }, { account: 'treasury', balance: '50' }], next: null });
    for (const cursor of ['x', '1.01.a', '1.5.bad space', '99999.1.a']) {
      const reply = await get(`/v1/tokens/${symbol}/holders?cursor=${encodeURIComponent(cursor)}`);
      expect(reply.status, cursor).to.equal(400);
      expect(reply.body.error.message).to.match(/query\.cursor: must be the next of a previous page/);
    }
  });

  it('GET /v1/tokens/:sym/events: next is null once the log end is reached; tail is where to poll', async () => {
    const symbol = await makeToken(app.ledger, { supply: '1000' });
    await app.ledger.transfer(symbol, { from: 'alice', to: 'bob', amount: '1' });
    const first = (await get(`/v1/tokens/${symbol}/events?limit=1`)).body;
    expect(first.events).to.have.length(1);
    expect(first.next).to.be.a('string').and.equal(first.tail);
    const last = (await get(`/v1/tokens/${symbol}/events?limit=10&after=${first.next}`)).body;
    expect(last.events.map((e: { type: string }) => e.type)).to.deep.equal(['transfer']);
    expect(last.next).to.equal(null);
    expect(last.tail).to.equal(last.events[0].id);
    // Tailing: poll from tail, see the new event.
    await app.ledger.burn(symbol, { account: 'bob', amount: '1' });
    const polled = (await get(`/v1/tokens/${symbol}/events?after=${last.tail}`)).body;
    expect(polled.events.map((e: { type: string }) => e.type)).to.deep.equal(['burn']);
    expect(polled.next).to.equal(null);
    const empty = (await get(`/v1/tokens/${symbol}/events?after=${polled.tail}`)).body;
    expect(empty).to.deep.equal({ events: [], next: null, tail: polled.tail });
  });

  it('GET /v1/tokens/:sym/events for an account: a page stopped by the scan bound keeps next', async () => {
    const symbol = await makeToken(app.ledger, { supply: '100000', treasury: 'treasury' });
    // ledger_events examines at most 250 legs per call (a single transfer counts one).
    for (let chunk = 0; chunk < 1; chunk++) {
      await Promise.all(Array.from({ length: 300 }, () => app.ledger.transfer(symbol, { from: 'treasury', to: 'x', amount: '1' })));
    }
    await app.ledger.transfer(symbol, { from: 'treasury', to: 'zed', amount: '1' });
    const page = (await get(`/v1/tokens/${symbol}/events?account=zed&limit=5`)).body;
    expect(page.events).to.have.length(0);
    expect(page.next).to.be.a('string').and.equal(page.tail);
    const rest = (await get(`/v1/tokens/${symbol}/events?account=zed&limit=5&after=${page.next}`)).body;
    expect(rest.events.map((e: { to: string }) => e.to)).to.deep.equal(['zed']);
    expect(rest.next).to.equal(null);
  });

  it('snapshot lists: a forged cursor is 400 INVALID_CURSOR naming next, not nextCursor', async () => {
    for (const path of ['/v1/snapshots?cursor=forged', '/v1/snapshot-schedules?cursor=forged']) {
      const reply = await get(path);
      expect(reply.status, reply.text).to.equal(400);
      expect(reply.body.error.code).to.equal('INVALID_CURSOR');
      expect(reply.body.error.message).to.match(/\bnext\b/).and.not.match(/nextCursor/);
    }
  });
});
