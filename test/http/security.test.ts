// Authentication and authorization over real HTTP: every way a token can be wrong is a 401,
// each key configuration (HS256 secret, RS256 / ES256 public key, JWKS) accepts only its own
// algorithm, issuer and audience are enforced when set, and users cannot touch other accounts.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { call, forge, makeToken, mint, rawCall, startApp, testSecret, type TestApp } from './support.ts';
import { startJwksServer, type JwksServer } from '../../testkit/jwks-server.ts';
import { dumpToken } from '../../testkit/ledger-state.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
const now = () => Math.floor(Date.now() / 1000);

function expect401(reply: { status: number; body: any; headers: Headers }) {
  expect(reply.status, JSON.stringify(reply.body)).to.equal(401);
  expect(reply.body.error.code).to.equal('UNAUTHENTICATED');
  expect(reply.headers.get('www-authenticate')).to.equal('Bearer');
}

describe('HTTP security', () => {
  describe('HS256 (JWT_SECRET)', () => {
    let app: TestApp;
    let symbol: string;
    before(async () => {
      app = await startApp();
      symbol = await makeToken(app.ledger, { supply: '1000' });
    });
    after(async () => { await app.close(); });
    const info = (headers: Record<string, string>) => call(app.url, 'GET', `/v1/tokens/${symbol}`, { headers });
    const bearer = (token: string) => info({ authorization: `Bearer ${token}` });

    it('accepts a valid token', async () => {
      expect((await bearer(mint('alice'))).status).to.equal(200);
    });

    it('answers 401 without a token or with a malformed Authorization header', async () => {
      expect401(await info({}));
      expect401(await info({ authorization: 'Basic YWxpY2U6c2VjcmV0' }));
      expect401(await info({ authorization: 'Bearer' }));
      expect401(await info({ authorization: `Bearer ${mint('alice')} extra` }));
      expect401(await info({ authorization: 'Bearer not.a.jwt' }));
      expect401(await info({ authorization: 'Bearer ' + 'A'.repeat(4000) }));
    });

    it('answers 401 to a bad signature, alg none, an expired or not-yet-valid token', async () => {
      expect401(await bearer(mint('alice', { secret: 'another-secret-0123456789abcdefghij' })));
      const valid = mint('alice');
      expect401(await bearer(`${valid.slice(0, -4)}${valid.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`));
      expect401(await bearer(forge({ alg: 'none', typ: 'JWT' }, { sub: 'alice', roles: ['admin'], exp: now() + 60 })));
      expect401(await bearer(forge({ alg: 'HS512', typ: 'JWT' }, { sub: 'alice', exp: now() + 60 }, testSecret)));
      const expired = await bearer(jwt.sign({ sub: 'alice', exp: now() - 10 }, testSecret));
      expect401(expired);
      expect(expired.body.error.message).to.match(/expired/);
      expect401(await bearer(jwt.sign({ sub: 'alice', nbf: now() + 600 }, testSecret)));
    });

    it('answers 401 to a valid token without a usable sub', async () => {
      expect401(await bearer(mint(undefined)));
      expect401(await bearer(jwt.sign({ sub: 42 }, testSecret)));
      expect401(await bearer(jwt.sign({ sub: '' }, testSecret)));
    });

    it('grants admin only for a roles claim containing admin', async () => {
      const create = (token: string) => call(app.url, 'POST', '/v1/tokens', { token, body: { symbol: `A${Date.now()}`, name: 'x', decimals: 0, totalSupply: '1', treasury: 'x' } });
      expect((await create(mint('u', { roles: ['user'] }))).status).to.equal(403);
      expect((await create(mint('u', { roles: 'administrator' }))).status).to.equal(403);
      expect((await create(mint('u', { roles: { admin: true } }))).status).to.equal(403);
      expect((await create(mint('u', { roles: 'user admin' }))).status).to.equal(201);
    });

    it('never lets a user move or burn funds of another account (403, state unchanged)', async () => {
      const before = await dumpToken(app.redis, symbol);
      const bob = mint('bob');
      const attempts = [
        call(app.url, 'POST', `/v1/tokens/${symbol}/transfers`, { token: bob, body: { from: 'alice', to: 'bob', amount: '1' } }),
        call(app.url, 'POST', `/v1/tokens/${symbol}/burns`, { token: bob, body: { account: 'alice', amount: '1' } }),
        call(app.url, 'POST', `/v1/tokens/${symbol}/transfers/batch`, { token: bob, body: { legs: [{ from: 'alice', to: 'bob', amount: '1' }] } }),
        call(app.url, 'GET', `/v1/tokens/${symbol}/balances/alice`, { token: bob }),
        // Case and look-alikes are other accounts, not the caller's.
        call(app.url, 'POST', `/v1/tokens/${symbol}/transfers`, { token: mint('Alice'), body: { from: 'alice', to: 'bob', amount: '1' } }),
      ];
      for (const reply of await Promise.all(attempts)) {
        expect(reply.status).to.equal(403);
        expect(reply.body.error.code).to.equal('FORBIDDEN');
      }
      // A token for alice signed with the wrong key gets nowhere either.
      expect401(await call(app.url, 'POST', `/v1/tokens/${symbol}/transfers`, { token: mint('alice', { secret: 'x'.repeat(40) }), body: { to: 'bob', amount: '1' } }));
      expect(await dumpToken(app.redis, symbol)).to.deep.equal(before);
    });

    it('does not leak whether a route exists before authentication', async () => {
      expect401(await rawCall(app.url, 'GET', '/v1/nothing-here'));
      expect((await rawCall(app.url, 'GET', '/v1/nothing-here', { authorization: `Bearer ${mint('alice')}` })).status).to.equal(404);
    });
  });

  describe('RS256 (JWT_PUBLIC_KEY)', () => {
    let app: TestApp;
    let symbol: string;
    before(async () => {
      app = await startApp({ env: { JWT_SECRET: '', JWT_PUBLIC_KEY: pem(rsa.publicKey) } });
      symbol = await makeToken(app.ledger);
    });
    after(async () => { await app.close(); });
    const bearer = (token: string) => call(app.url, 'GET', `/v1/tokens/${symbol}`, { token });

    it('accepts RS256 tokens signed with the private key', async () => {
      expect(app.config.jwt.algorithms).to.deep.equal(['RS256']);
      expect((await bearer(jwt.sign({ sub: 'alice' }, rsa.privateKey, { algorithm: 'RS256', expiresIn: 60 }))).status).to.equal(200);
    });

    it('rejects an HS256 token whose HMAC key is the public key (algorithm confusion)', async () => {
      expect401(await bearer(forge({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', roles: ['admin'], exp: now() + 60 }, pem(rsa.publicKey))));
      expect401(await bearer(mint('alice')));
    });

    it('rejects tokens of another key, ES256 tokens and alg none', async () => {
      expect401(await bearer(jwt.sign({ sub: 'alice' }, otherRsa.privateKey, { algorithm: 'RS256', expiresIn: 60 })));
      expect401(await bearer(jwt.sign({ sub: 'alice' }, ec.privateKey, { algorithm: 'ES256', expiresIn: 60 })));
      expect401(await bearer(forge({ alg: 'none' }, { sub: 'alice', exp: now() + 60 })));
      expect401(await bearer(jwt.sign({ sub: 'alice', exp: now() - 5 }, rsa.privateKey, { algorithm: 'RS256' })));
    });
  });

  describe('ES256 (JWT_PUBLIC_KEY, P-256)', () => {
    let app: TestApp;
    let symbol: string;
    before(async () => {
      app = await startApp({ env: { JWT_SECRET: '', JWT_PUBLIC_KEY: pem(ec.publicKey).replaceAll('\n', '\\n') } });
      symbol = await makeToken(app.ledger);
    });
    after(async () => { await app.close(); });
    const bearer = (token: string) => call(app.url, 'GET', `/v1/tokens/${symbol}`, { token });

    it('accepts ES256 tokens and rejects RS256 and HS256 ones', async () => {
      expect(app.config.jwt.algorithms).to.deep.equal(['ES256']);
      expect((await bearer(jwt.sign({ sub: 'alice' }, ec.privateKey, { algorithm: 'ES256', expiresIn: 60 }))).status).to.equal(200);
      expect401(await bearer(jwt.sign({ sub: 'alice' }, rsa.privateKey, { algorithm: 'RS256', expiresIn: 60 })));
      expect401(await bearer(forge({ alg: 'HS256' }, { sub: 'alice', exp: now() + 60 }, pem(ec.publicKey))));
    });
  });

  describe('JWKS (JWT_JWKS_URL)', () => {
    let app: TestApp;
    let jwks: JwksServer;
    let symbol: string;
    before(async () => {
      jwks = await startJwksServer(rsa.publicKey, 'k1');
      app = await startApp({ env: { JWT_SECRET: '', JWT_JWKS_URL: jwks.url } });
      symbol = await makeToken(app.ledger);
    });
    after(async () => {
      await app.close();
      await jwks.close();
    });
    const bearer = (token: string) => call(app.url, 'GET', `/v1/tokens/${symbol}`, { token });

    it('accepts a token whose kid is in the JWKS, and caches the keys', async () => {
      const token = jwt.sign({ sub: 'alice' }, rsa.privateKey, { algorithm: 'RS256', keyid: 'k1', expiresIn: 60 });
      expect((await bearer(token)).status).to.equal(200);
      expect((await bearer(token)).status).to.equal(200);
      expect(jwks.requests()).to.equal(1);
    });

    it('rejects an unknown kid, another key under the known kid, and HS256', async () => {
      expect401(await bearer(jwt.sign({ sub: 'alice' }, rsa.privateKey, { algorithm: 'RS256', keyid: 'nope', expiresIn: 60 })));
      expect401(await bearer(jwt.sign({ sub: 'alice' }, otherRsa.privateKey, { algorithm: 'RS256', keyid: 'k1', expiresIn: 60 })));
      expect401(await bearer(forge({ alg: 'HS256', kid: 'k1' }, { sub: 'alice', exp: now() + 60 }, pem(rsa.publicKey))));
    });

    it('answers 503 UNAVAILABLE when the JWKS endpoint cannot be reached', async () => {
      const down = await startApp({ env: { JWT_SECRET: '', JWT_JWKS_URL: 'http://127.0.0.1:9/jwks.json' } });
      try {
        const reply = await call(down.url, 'GET', `/v1/tokens/${symbol}`, { token: jwt.sign({ sub: 'alice' }, rsa.privateKey, { algorithm: 'RS256', keyid: 'k1', expiresIn: 60 }) });
        expect(reply.status).to.equal(503);
        expect(reply.body.error.code).to.equal('UNAVAILABLE');
      } finally {
        await down.close();
      }
    });
  });

  describe('JWT_ISSUER and JWT_AUDIENCE', () => {
    let app: TestApp;
    let symbol: string;
    before(async () => {
      app = await startApp({ env: { JWT_ISSUER: 'https://issuer.example', JWT_AUDIENCE: 'tally-api' } });
      symbol = await makeToken(app.ledger);
    });
    after(async () => { await app.close(); });
    const bearer = (claims: Record<string, unknown>) => call(app.url, 'GET', `/v1/tokens/${symbol}`, { token: mint('alice', { claims }) });

    it('accepts the configured issuer and audience', async () => {
      expect((await bearer({ iss: 'https://issuer.example', aud: 'tally-api' })).status).to.equal(200);
      expect((await bearer({ iss: 'https://issuer.example', aud: ['other', 'tally-api'] })).status).to.equal(200);
    });

    it('rejects a wrong or missing issuer or audience', async () => {
      expect401(await bearer({ iss: 'https://evil.example', aud: 'tally-api' }));
      expect401(await bearer({ aud: 'tally-api' }));
      expect401(await bearer({ iss: 'https://issuer.example', aud: 'other' }));
      expect401(await bearer({ iss: 'https://issuer.example' }));
    });
  });

  describe('rate limiting', () => {
    let app: TestApp;
    let symbol: string;
    before(async () => {
      app = await startApp({ env: { RATE_LIMIT_PER_MINUTE: '3' } });
      symbol = await makeToken(app.ledger);
    });
    after(async () => { await app.close(); });

    it('answers 429 RATE_LIMITED with Retry-After after the limit, per sub', async () => {
      const carol = mint('carol');
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 4; i++) {
        last = await call(app.url, 'GET', `/v1/tokens/${symbol}`, { token: carol });
        statuses.push(last.status);
      }
      expect(statuses).to.deep.equal([200, 200, 200, 429]);
      expect(last!.body.error.code).to.equal('RATE_LIMITED');
      expect(Number(last!.headers.get('retry-after'))).to.be.within(1, 60);
      // Another caller has its own budget.
      expect((await call(app.url, 'GET', `/v1/tokens/${symbol}`, { token: mint('dave') })).status).to.equal(200);
    });

    it('limits requests without a valid token per IP (429 instead of endless 401s)', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await call(app.url, 'GET', `/v1/tokens/${symbol}`, { token: 'garbage' })).status);
      expect(statuses).to.deep.equal([401, 401, 401, 429]);
    });
  });
});
