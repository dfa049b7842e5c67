// Safe retries at the HTTP level. Redis is made to hold writes (CLIENT PAUSE WRITE) for longer
// than the API's command timeout (2 s here), so the first FCALL of a request times out without
// an answer: the ambiguous case, where the call may still run.
// - With an Idempotency-Key the REST layer passes it as the opId, so the client repeats the call:
//   the request answers 201, the transfer is applied once, and Redis ran the FCALL twice (once
//   applied, once replayed from the opId record).
// - Without one the call is not repeated: the request answers 503 UNAVAILABLE and Redis ran the
//   FCALL once. (It ran when the pause ended, so that transfer did happen: which is why a client
//   must not blindly repeat a write that got a 503 without a key, and why keys exist.)
// - With the rate limiter on and Redis answering nothing at all (CLIENT PAUSE ALL), a request
//   gets 503 after the timeout instead of hanging in the rate limiter.
// Before the fix these timeouts did not exist: node-redis drops its command timeout once the
// command is written, so every such request waited for as long as Redis did.
import { expect } from 'chai';
import { migrate } from '../../src/migrate/migrations.ts';
import { call, mint, startApp, type TestApp } from '../http/support.ts';
import { connect } from '../../testkit/clients.ts';
import { type RedisServer, startRedis } from '../../testkit/redis-server.ts';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep } from '../../testkit/wait.ts';
import { report } from './support.ts';
import { callerOpId } from '../../src/http/idempotency.ts';

const pauseMs = 3_900; // longer than startApp's 2 s command timeout, shorter than two of them: the first FCALL times out if it is sent within 1.9 s of the pause (a loaded machine can take over 1 s to get a request to Redis)

describe('faults: HTTP writes while Redis does not answer', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let admin: Awaited<ReturnType<typeof connect>>;
  let app: TestApp;
  const alice = mint('alice', { expiresInSeconds: 600 });
  let symbol: string;

  before(async () => {
    server = await startRedis();
    admin = await connect(server.url);
    await migrate(admin);
    app = await startApp({ redisUrl: server.url });
    symbol = uniqueSymbol('HR');
    await app.ledger.init(symbol, { name: 'Retries', decimals: 0, totalSupply: '1000', treasury: 'alice' });
  });
  after(async () => {
    await app?.close();
    admin?.destroy();
    await server?.stop();
  });

  async function fcallCalls(): Promise<number> {
    const info = String(await admin.sendCommand(['INFO', 'commandstats']));
    return Number(/cmdstat_fcall:calls=(\d+)/.exec(info)?.[1] ?? 0);
  }
  async function logged(): Promise<{ opId?: string }[]> {
    return ((await admin.xRange(`token:{${symbol}}:log`, '-', '+')) ?? []).map((e) => e.message as { opId?: string });
  }
  const transfer = (headers: Record<string, string>) => call(app.url, 'POST', `/v1/tokens/${symbol}/transfers`, { token: alice, body: { to: 'bob', amount: '10' }, headers });

  it('repeats a transfer with an Idempotency-Key after a timeout, and applies it once', async () => {
    const callsBefore = await fcallCalls();
    await admin.sendCommand(['CLIENT', 'PAUSE', String(pauseMs), 'WRITE']);
    const startedMs = Date.now();
    const reply = await transfer({ 'idempotency-key': 'paused-1' });
    expect(reply.status, reply.text).to.equal(201);
    expect(Date.now() - startedMs).to.be.above(pauseMs - 200); // it did wait out the pause
    expect(reply.body.fromBalance).to.equal('990');
    expect(await fcallCalls() - callsBefore, 'FCALLs: the timed-out one and its repeat').to.equal(2);
    const opId = callerOpId({ account: 'alice', admin: false }, 'paused-1');
    const found = (await logged()).filter((e) => e.opId === opId).length;
    report('HTTP transfer with Idempotency-Key, Redis paused past the timeout', { attempted: 1, acknowledged: 1, found, lost: 1 - found, fcalls: 2 });
    expect(found).to.equal(1);
    expect(await app.ledger.balance(symbol, 'bob')).to.equal('10');
  });

  it('does not repeat a transfer without one: 503, and a single FCALL', async () => {
    const callsBefore = await fcallCalls();
    const entriesBefore = (await logged()).length;
    await admin.sendCommand(['CLIENT', 'PAUSE', String(pauseMs), 'WRITE']);
    const reply = await transfer({});
    expect(reply.status, reply.text).to.equal(503);
    expect(reply.body.error.code).to.equal('UNAVAILABLE');
    await sleep(pauseMs); // the pause ends; the held FCALL runs now
    expect(await fcallCalls() - callsBefore, 'FCALLs: only the first, never repeated').to.equal(1);
    expect((await logged()).length - entriesBefore, 'it did run once the pause ended').to.equal(1);
    expect(await app.ledger.balance(symbol, 'bob')).to.equal('20');
  });

  it('answers 503 after the timeout when Redis answers nothing at all, rate limiter included', async () => {
    const limited = await startApp({ redisUrl: server.url, env: { RATE_LIMIT_PER_MINUTE: '1000' } });
    try {
      await admin.sendCommand(['CLIENT', 'PAUSE', String(pauseMs), 'ALL']);
      const startedMs = Date.now();
      const reply = await call(limited.url, 'POST', `/v1/tokens/${symbol}/transfers`, { token: alice, body: { to: 'bob', amount: '1' } });
      const tookMs = Date.now() - startedMs;
      expect(reply.status, reply.text).to.equal(503);
      expect(reply.body.error.code).to.equal('UNAVAILABLE');
      expect(tookMs).to.be.below(pauseMs);
      await sleep(pauseMs - tookMs + 100);
      const ready = await call(limited.url, 'GET', `/v1/tokens/${symbol}`, { token: alice });
      expect(ready.status).to.equal(200);
    } finally {
      await limited.close();
    }
  });
});
