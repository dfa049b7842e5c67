// The operational surface: /healthz, /readyz (Redis down, library missing, the checks of other parts),
// /metrics, /openapi.json (every route documented), request ids, 404/405/500 bodies, 503 when
// Redis is down, and the readiness checks and routes createApp is given.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { Router } from 'express';
import { callerOf } from '../../src/http/auth.ts';
import { errorCatalog } from '../../src/errors.ts';
import { HttpError } from '../../src/http/errors.ts';
import { MirrorUnavailableError } from '../../src/snapshots/errors.ts';
import { createTokensRouter } from '../../src/http/tokens.ts';
import { createLedger, type Ledger } from '../../src/ledger/client.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import { connect } from '../../testkit/clients.ts';
import { type RedisServer, startRedis } from '../../testkit/redis-server.ts';
import { until } from '../../testkit/wait.ts';
import { call, makeToken, mint, rawCall, startApp, type TestApp } from './support.ts';

describe('HTTP operations', () => {
  const alice = mint('alice');

  describe('with a healthy Redis', () => {
    let app: TestApp;
    before(async () => { app = await startApp(); });
    after(async () => { await app.close(); });

    it('GET /healthz and /readyz answer 200 without a token', async () => {
      expect((await call(app.url, 'GET', '/healthz')).body).to.deep.equal({ status: 'ok', version: JSON.parse(readFileSync('package.json', 'utf8')).version });
      const ready = await call(app.url, 'GET', '/readyz');
      expect(ready.status).to.equal(200);
      expect(ready.body.status).to.equal('ready');
      expect(ready.body.checks.redis.ok).to.equal(true);
      expect(ready.body.checks.ledger.detail).to.match(/^ledger library \d+\.\d+\.\d+$/);
    });

    it('GET /metrics counts requests by route pattern and status, and ledger errors by code', async () => {
      const symbol = await makeToken(app.ledger, { supply: '10' });
      await call(app.url, 'GET', `/v1/tokens/${symbol}`, { token: alice });
      await call(app.url, 'POST', `/v1/tokens/${symbol}/burns`, { token: mint('nobody'), body: { amount: '1' } });
      const reply = await call(app.url, 'GET', '/metrics');
      expect(reply.status).to.equal(200);
      expect(reply.headers.get('content-type')).to.match(/^text\/plain/);
      expect(reply.text).to.include('tally_http_requests_total{method="GET",route="/v1/tokens/:sym",status="200"} 1');
      expect(reply.text).to.include('tally_http_requests_total{method="POST",route="/v1/tokens/:sym/burns",status="422"} 1');
      expect(reply.text).to.include('tally_ledger_errors_total{code="INSUFFICIENT_FUNDS"} 1');
      expect(reply.text).to.include('tally_http_errors_total{code="INSUFFICIENT_FUNDS"} 1');
      expect(reply.text).to.match(/tally_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/v1\/tokens\/:sym",status="200"\} \d/);
      expect(reply.text).not.to.include(symbol);
    });

    it('GET /openapi.json is OpenAPI 3.1 and documents every registered route and error code', async () => {
      const doc = (await call(app.url, 'GET', '/openapi.json')).body;
      expect(doc.openapi).to.equal('3.1.0');
      const { routes } = createTokensRouter({ ledger: app.ledger });
      const registered = [
        ...routes.map((r) => [r.method, `/v1${r.path}`.replace(/:(\w+)/g, '{$1}')]),
        ['get', '/healthz'], ['get', '/readyz'], ['get', '/metrics'], ['get', '/openapi.json'],
      ];
      for (const [method, path] of registered) expect(doc.paths[path!]?.[method!], `${method} ${path}`).to.be.an('object');
      const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
      expect(documented.sort()).to.deep.equal(registered.map(([m, p]) => `${m} ${p}`).sort());
      expect(doc.components.schemas.Error.properties.error.properties.code.enum).to.have.members(Object.keys(errorCatalog));
      expect(doc.components.schemas.Transfer.additionalProperties).to.equal(false);
    });

    it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
      const given = await call(app.url, 'GET', '/healthz', { headers: { 'x-request-id': 'trace-123' } });
      expect(given.headers.get('x-request-id')).to.equal('trace-123');
      const replaced = await call(app.url, 'GET', '/healthz', { headers: { 'x-request-id': 'bad id' } });
      expect(replaced.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    });

    it('answers unknown routes 404 and wrong methods 405, as JSON', async () => {
      const missing = await rawCall(app.url, 'GET', '/nope');
      expect(missing.status).to.equal(404);
      expect(missing.body).to.deep.equal({ error: { code: 'NOT_FOUND', message: 'no route for GET /nope' } });
      const wrong = await call(app.url, 'PATCH', '/v1/tokens', { token: alice });
      expect(wrong.status).to.equal(405);
      expect(wrong.headers.get('allow')).to.equal('POST, GET, HEAD');
    });
  });

  it('answers 500 INTERNAL without details when something unexpected throws', async () => {
    const broken = { info: async () => { throw new Error('secret detail at /srv/app.ts:12'); } } as unknown as Ledger;
    const app = await startApp({ ledger: broken });
    try {
      const reply = await call(app.url, 'GET', '/v1/tokens/ABC', { token: alice });
      expect(reply.status).to.equal(500);
      expect(reply.body).to.deep.equal({ error: { code: 'INTERNAL', message: 'internal error' } });
    } finally {
      await app.close();
    }
  });

  it('adds the readiness checks it is given to /readyz, and serves no snapshot routes without a snapshot service', async () => {
    let storeUp = true;
    const app = await startApp({ parts: { readinessChecks: { store: async () => { if (!storeUp) throw new Error('store unreachable'); return 'ok'; } } } });
    try {
      expect((await call(app.url, 'GET', '/readyz')).body.checks.store).to.deep.equal({ ok: true, detail: 'ok' });
      storeUp = false;
      const down = await call(app.url, 'GET', '/readyz');
      expect(down.status).to.equal(503);
      expect(down.body.error.message).to.equal('not ready: store');
      expect((await call(app.url, 'GET', '/v1/snapshots/s1', { token: alice })).status).to.equal(404);
      const doc = (await call(app.url, 'GET', '/openapi.json')).body;
      expect(Object.keys(doc.paths).filter((path) => path.startsWith('/v1/snapshot'))).to.deep.equal([]);
    } finally {
      await app.close();
    }
  });

  describe('with a Redis that goes away', () => {
    let server: RedisServer;
    let app: TestApp;
    before(async () => {
      // AOF, so that the ledger library (and the token) survive the kill -9 below.
      server = await startRedis({ appendfsync: 'always' });
      const client = await connect(server.url);
      await migrate(client);
      client.destroy();
      app = await startApp({ redisUrl: server.url });
    });
    after(async () => {
      await app.close();
      await server.stop();
    });

    it('readyz answers 503 when the ledger library is missing, 200 once it is loaded', async () => {
      const client = await connect(server.url);
      try {
        await client.sendCommand(['FUNCTION', 'FLUSH']);
        const reply = await call(app.url, 'GET', '/readyz');
        expect(reply.status).to.equal(503);
        expect(reply.body.checks.ledger.ok).to.equal(false);
        await client.del('tally:migrations');
        await migrate(client);
        expect((await call(app.url, 'GET', '/readyz')).status).to.equal(200);
      } finally {
        client.destroy();
      }
    });

    it('answers 503 UNAVAILABLE while Redis is down, and recovers when it is back', async function () {
      this.timeout(30_000);
      const ledger = createLedger(app.redis);
      const symbol = await makeToken(ledger);
      await server.kill9();
      const ready = await call(app.url, 'GET', '/readyz');
      expect(ready.status).to.equal(503);
      expect(ready.body.checks.redis.ok).to.equal(false);
      const info = await call(app.url, 'GET', `/v1/tokens/${symbol}`, { token: alice });
      expect(info.status).to.equal(503);
      expect(info.body).to.deep.equal({ error: { code: 'UNAVAILABLE', message: 'the ledger is unavailable, retry later' } });
      const transfer = await call(app.url, 'POST', `/v1/tokens/${symbol}/transfers`, { token: alice, body: { to: 'bob', amount: '1' } });
      expect(transfer.status).to.equal(503);
      await server.restart();
      await until(async () => (await call(app.url, 'GET', '/readyz')).status === 200, { what: '/readyz to answer 200 after the restart', timeoutMs: 10_000, stepMs: 100 });
    });
  });
});
