// A corpus of malformed requests (bodies, paths, query strings, headers): each one answers a 4xx
// with a catalogued error code and no stack trace, none reaches a 500, and every key of the
// token is byte-for-byte what it was before the corpus ran.
import { expect } from 'chai';
import { errorCatalog } from '../../src/errors.ts';
import { makeToken, mint, rawCall, startApp, type Reply, type TestApp } from './support.ts';
import { dumpToken } from '../../testkit/ledger-state.ts';
import { callerOpId } from '../../src/http/idempotency.ts';

interface Case {
  name: string;
  method?: string;
  path?: string;
  /** Raw body text; objects are JSON-encoded. */
  body?: unknown;
  headers?: Record<string, string | string[]>;
  token?: string | null;
  status?: number;
}

const max = ((1n << 256n) - 1n).toString();

describe('HTTP malformed input', () => {
  let app: TestApp;
  let symbol: string;
  const admin = mint('ops', { admin: true });
  const alice = mint('alice');

  before(async () => {
    app = await startApp({ env: { BODY_LIMIT_BYTES: String(64 * 1024) } });
    symbol = await makeToken(app.ledger, { supply: '1000000', treasury: 'alice' });
    // The opId the admin's Idempotency-Key 'seed-op' becomes (keys are scoped to their caller).
    await app.ledger.transfer(symbol, { from: 'alice', to: 'bob', amount: '10', opId: callerOpId({ account: 'ops', admin: true }, 'seed-op')! });
  });
  after(async () => { await app.close(); });

  function corpus(): Case[] {
    const transfers = `/v1/tokens/${symbol}/transfers`;
    const burns = `/v1/tokens/${symbol}/burns`;
    const batch = `/v1/tokens/${symbol}/transfers/batch`;
    const t = (name: string, body: unknown, extra: Partial<Case> = {}): Case => ({ name: `transfer: ${name}`, method: 'POST', path: transfers, body, ...extra });
    return [
      // Wrong types and shapes.
      t('amount as a number', { to: 'bob', amount: 5 }),
      t('amount as a float', { to: 'bob', amount: 1.5 }),
      t('amount as a huge number', { to: 'bob', amount: 1e300 }),
      t('amount as a numeric literal past 2^53 (precision)', '{"to":"bob","amount":123456789012345678901234567890}'),
      t('amount as an array', { to: 'bob', amount: ['1'] }),
      t('amount as an object', { to: 'bob', amount: { value: '1' } }),
      t('amount null', { to: 'bob', amount: null }),
      t('amount true', { to: 'bob', amount: true }),
      t('amount missing', { to: 'bob' }),
      t('to missing', { amount: '1' }),
      t('to as a number', { to: 1234, amount: '1' }),
      t('empty object', {}),
      t('body is an array', [{ to: 'bob', amount: '1' }]),
      t('body is a string', '"to bob"'),
      t('body is a number', '42'),
      t('body is null', 'null'),
      // Amount strings outside §2.
      t('amount zero', { to: 'bob', amount: '0' }),
      t('amount negative', { to: 'bob', amount: '-1' }),
      t('amount with a plus sign', { to: 'bob', amount: '+1' }),
      t('amount with a leading zero', { to: 'bob', amount: '01' }),
      t('amount with an exponent', { to: 'bob', amount: '1e3' }),
      t('amount in hex', { to: 'bob', amount: '0x10' }),
      t('amount with a fraction', { to: 'bob', amount: '1.0' }),
      t('amount with whitespace', { to: 'bob', amount: ' 1' }),
      t('amount with a trailing newline', { to: 'bob', amount: '1\n' }),
      t('amount 2^256', { to: 'bob', amount: (BigInt(max) + 1n).toString() }),
      t('amount of 79 digits', { to: 'bob', amount: '1'.repeat(79) }),
      t('amount of 10,000 digits', { to: 'bob', amount: '9'.repeat(10_000) }),
      t('amount with unicode digits', { to: 'bob', amount: '١٢٣' }),
      t('amount with fullwidth digits', { to: 'bob', amount: '１２' }),
      t('amount empty', { to: 'bob', amount: '' }),
      // Accounts outside §3.
      t('to with a space', { to: 'bo b', amount: '1' }),
      t('to empty', { to: '', amount: '1' }),
      t('to starting with a dot', { to: '.bob', amount: '1' }),
      t('to with unicode', { to: 'bób', amount: '1' }),
      t('to with an emoji', { to: 'bob🙂', amount: '1' }),
      t('to with a NUL byte', { to: 'bob\u0000', amount: '1' }),
      t('to of 129 characters', { to: 'b'.repeat(129), amount: '1' }),
      t('to with a Redis glob', { to: 'bob*', amount: '1' }),
      t('to with a hash tag', { to: '{bob}', amount: '1' }),
      t('from another account (user)', { from: 'bob', to: 'carol', amount: '1' }, { status: 403 }),
      t('same account', { to: 'alice', amount: '1' }, { status: 422 }),
      t('more than the balance', { to: 'bob', amount: max }, { status: 422 }),
      // Prototype pollution and unknown keys.
      t('__proto__ key', '{"to":"bob","amount":"1","__proto__":{"admin":true}}'),
      t('constructor key', '{"to":"bob","amount":"1","constructor":{"prototype":{"admin":true}}}'),
      t('prototype key', { to: 'bob', amount: '1', prototype: {} }),
      t('unknown key', { to: 'bob', amount: '1', memo: 'hi' }),
      t('duplicate key making amount invalid', '{"to":"bob","amount":"1","amount":"-1"}'),
      // Broken JSON and encodings.
      t('truncated JSON', '{"to":"bob","amount":"1"'),
      t('trailing comma', '{"to":"bob","amount":"1",}'),
      t('single quotes', "{'to':'bob','amount':'1'}"),
      t('NaN literal', '{"to":"bob","amount":NaN}'),
      t('JSON with comments', '{"to":"bob", /* c */ "amount":"1"}'),
      t('empty body with JSON content type', ''),
      t('bad escape', '{"to":"bob\\x","amount":"1"}'),
      t('lone surrogate escape', '{"to":"\\ud800","amount":"1"}'),
      t('deeply nested', `{"to":"bob","amount":${'['.repeat(5000)}${']'.repeat(5000)}}`),
      t('1 MB body', JSON.stringify({ to: 'bob', amount: '1', pad: 'x'.repeat(1024 * 1024) }), { status: 413 }),
      t('text/plain content type', '{"to":"bob","amount":"1"}', { headers: { 'content-type': 'text/plain' }, status: 415 }),
      t('form content type', 'to=bob&amount=1', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 }),
      t('no content type', '{"to":"bob","amount":"1"}', { headers: { 'content-type': '' } }),
      t('latin1 charset', '{"to":"bob","amount":"1"}', { headers: { 'content-type': 'application/json; charset=latin1' }, status: 415 }),
      t('gzip encoding that is not gzip', '{"to":"bob","amount":"1"}', { headers: { 'content-encoding': 'gzip' } }),
      t('unknown content encoding', '{"to":"bob","amount":"1"}', { headers: { 'content-encoding': 'br2' }, status: 415 }),
      // Idempotency-Key.
      t('Idempotency-Key with a space', { to: 'bob', amount: '1' }, { headers: { 'idempotency-key': 'a b' } }),
      t('Idempotency-Key starting with a dash', { to: 'bob', amount: '1' }, { headers: { 'idempotency-key': '-abc' } }),
      t('Idempotency-Key of 129 characters', { to: 'bob', amount: '1' }, { headers: { 'idempotency-key': 'k'.repeat(129) } }),
      t('Idempotency-Key sent twice', { to: 'bob', amount: '1' }, { headers: { 'idempotency-key': ['k1', 'k2'] } }),
      t('Idempotency-Key reused with other parameters', { to: 'bob', amount: '11' }, { headers: { 'idempotency-key': 'seed-op' }, token: admin, status: 409 }),
      // Other bodies.
      { name: 'burn: amount as a number', method: 'POST', path: burns, body: { amount: 1 } },
      { name: 'burn: another account (user)', method: 'POST', path: burns, body: { account: 'bob', amount: '1' }, status: 403 },
      { name: 'burn: unknown key', method: 'POST', path: burns, body: { amount: '1', to: 'bob' } },
      { name: 'batch: legs not an array', method: 'POST', path: batch, body: { legs: { from: 'alice', to: 'bob', amount: '1' } }, token: admin },
      { name: 'batch: 1,001 legs', method: 'POST', path: batch, body: { legs: Array.from({ length: 1001 }, () => ({ from: 'alice', to: 'bob', amount: '1' })) }, token: admin },
      { name: 'batch: leg with an unknown key', method: 'POST', path: batch, body: { legs: [{ from: 'alice', to: 'bob', amount: '1', fee: '1' }] }, token: admin },
      { name: 'batch: second leg overdraws', method: 'POST', path: batch, body: { legs: [{ from: 'alice', to: 'bob', amount: '1' }, { from: 'carol', to: 'bob', amount: '1' }] }, token: admin, status: 422 },
      { name: 'create token: decimals as a string', method: 'POST', path: '/v1/tokens', body: { symbol, name: 'x', decimals: '6', totalSupply: '1', treasury: 'alice' }, token: admin },
      { name: 'create token: decimals 6.5', method: 'POST', path: '/v1/tokens', body: { symbol, name: 'x', decimals: 6.5, totalSupply: '1', treasury: 'alice' }, token: admin },
      { name: 'create token: existing symbol, other parameters', method: 'POST', path: '/v1/tokens', body: { symbol, name: 'x', decimals: 6, totalSupply: '1', treasury: 'alice' }, token: admin, status: 409 },
      { name: 'create token: name of 129 bytes (multi-byte)', method: 'POST', path: '/v1/tokens', body: { symbol: 'NEWSYM1', name: 'é'.repeat(65), decimals: 0, totalSupply: '1', treasury: 'alice' }, token: admin },
      // Paths and query strings.
      { name: 'path: lower-case symbol', method: 'POST', path: `/v1/tokens/${symbol.toLowerCase()}/transfers`, body: { to: 'bob', amount: '1' } },
      { name: 'path: symbol with a hash tag', method: 'POST', path: '/v1/tokens/%7BX%7D/transfers', body: { to: 'bob', amount: '1' } },
      { name: 'path: symbol of 33 characters', method: 'GET', path: `/v1/tokens/${'A'.repeat(33)}` },
      { name: 'path: broken percent-escape', method: 'GET', path: `/v1/tokens/${symbol}/balances/%E0%A4%A` },
      { name: 'path: encoded slash in account', method: 'GET', path: `/v1/tokens/${symbol}/balances/a%2Fb` },
      { name: 'path: encoded NUL in account', method: 'GET', path: `/v1/tokens/${symbol}/balances/a%00b` },
      { name: 'path: unicode account', method: 'GET', path: `/v1/tokens/${symbol}/balances/%C3%A9`, token: admin },
      { name: 'path: dot-dot', method: 'GET', path: `/v1/tokens/${symbol}/balances/..`, token: admin },
      { name: 'path: unknown route', method: 'GET', path: `/v1/tokens/${symbol}/secrets`, status: 404 },
      { name: 'path: DELETE a token', method: 'DELETE', path: `/v1/tokens/${symbol}`, status: 405 },
      { name: 'path: PUT transfers', method: 'PUT', path: transfers, body: { to: 'bob', amount: '1' }, status: 405 },
      { name: 'query: limit 0', method: 'GET', path: `/v1/tokens/${symbol}/holders?limit=0` },
      { name: 'query: limit negative', method: 'GET', path: `/v1/tokens/${symbol}/holders?limit=-1` },
      { name: 'query: limit 1e3', method: 'GET', path: `/v1/tokens/${symbol}/holders?limit=1e3` },
      { name: 'query: limit huge', method: 'GET', path: `/v1/tokens/${symbol}/holders?limit=99999999999999999999` },
      { name: 'query: limit repeated', method: 'GET', path: `/v1/tokens/${symbol}/holders?limit=1&limit=2` },
      { name: 'query: limit as a bracket object', method: 'GET', path: `/v1/tokens/${symbol}/holders?limit[a]=1` },
      { name: 'query: __proto__ parameter', method: 'GET', path: `/v1/tokens/${symbol}/holders?__proto__=1` },
      { name: 'query: events after garbage', method: 'GET', path: `/v1/tokens/${symbol}/events?after=%27%3B--`, token: admin },
      { name: 'query: events of another account (user)', method: 'GET', path: `/v1/tokens/${symbol}/events?account=bob`, status: 403 },
      // Headers.
      { name: 'header: no Authorization', method: 'POST', path: transfers, body: { to: 'bob', amount: '1' }, token: null, status: 401 },
      { name: 'header: Authorization with two tokens', method: 'POST', path: transfers, body: { to: 'bob', amount: '1' }, token: null, headers: { authorization: `Bearer ${alice} ${alice}` }, status: 401 },
      { name: 'header: token with a null-byte payload', method: 'POST', path: transfers, body: { to: 'bob', amount: '1' }, token: null, headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.AA.AA' }, status: 401 },
    ];
  }

  async function send(c: Case): Promise<Reply> {
    const headers: Record<string, string | string[]> = {};
    const token = c.token === undefined ? alice : c.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (c.body !== undefined) {
      body = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
      headers['content-type'] = 'application/json';
    }
    Object.assign(headers, c.headers);
    if (headers['content-type'] === '') delete headers['content-type'];
    return rawCall(app.url, c.method ?? 'GET', c.path ?? '/', headers, body);
  }

  it('has at least 50 cases', () => {
    expect(corpus().length).to.be.at.least(50);
  });

  it('answers each malformed request with a 4xx and a catalogued code, and changes nothing', async () => {
    const before = await dumpToken(app.redis, symbol);
    const failures: string[] = [];
    for (const c of corpus()) {
      const reply = await send(c);
      const code = reply.body?.error?.code;
      const ok = reply.status >= 400 && reply.status < 500
        && (c.status === undefined || reply.status === c.status)
        && typeof code === 'string' && code in errorCatalog
        && errorCatalog[code as keyof typeof errorCatalog].status === reply.status
        && !/\n\s+at |node_modules|\.ts:\d+/.test(reply.text);
      if (!ok) failures.push(`${c.name}: ${reply.status} ${reply.text.slice(0, 200)}`);
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
    expect(await dumpToken(app.redis, symbol)).to.deep.equal(before);
    // The token still works afterwards.
    const reply = await send({ name: 'valid', method: 'POST', path: `/v1/tokens/${symbol}/transfers`, body: { to: 'bob', amount: '1' } });
    expect(reply.status).to.equal(201);
  });
});
