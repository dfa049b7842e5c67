// Fuzzing the two input layers with fast-check.
// - Lua: raw FCALL / FCALL_RO of every ledger function with 0..2 keys and arbitrary arguments:
//   unicode and binary strings, byte sequences that are not UTF-8 (Buffers), digit strings
//   around the 2^256 and 2^64 edges, near-valid identifiers, and the valid values that reach the
//   deeper checks. Every error reply must start with a code of the catalog (never ERR, never a
//   Lua runtime error), and a rejected call must leave the whole dataset unchanged
//   (DEBUG DIGEST of a server of our own, before and after).
// - REST: arbitrary methods, paths, query strings, headers and bodies (JSON values, shaped
//   bodies with fuzzed fields, raw bytes) against the app: never a 500 (or any 5xx), every
//   error is JSON with a catalog code, and a rejected request changes nothing.
// FAULTS_QUICK=1 runs fewer cases; FUZZ_RUNS=n sets the count per property; FUZZ_SEED=s replays.
import { expect } from 'chai';
import fc from 'fast-check';
import { ErrorReply, type RedisClientType } from 'redis';
import { errorCatalog } from '../../src/errors.ts';
import { ledgerErrorCatalog } from '../../src/ledger/errors.ts';
import * as ledger from '../../src/ledger/functions.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import { connectRedis, type RedisConnection } from '../../src/connections.ts';
import { mint, rawCall, startApp, type TestApp } from '../http/support.ts';
import { type RedisServer, startRedis } from '../../testkit/redis-server.ts';
import { quick } from './support.ts';

const runs = Number(process.env.FUZZ_RUNS ?? (quick ? 1_000 : 5_000));
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = { numRuns: runs, ...(seed === undefined ? {} : { seed }), endOnFailure: true };

const symbol = 'FZ';
const key = `token:{${symbol}}`;
const amountMax = (2n ** 256n - 1n).toString();
const u64Max = (2n ** 64n - 1n).toString();

const functions = [
  { name: 'ledger_init', ro: false }, { name: 'ledger_info', ro: true }, { name: 'ledger_balance', ro: true },
  { name: 'ledger_supply', ro: true }, { name: 'ledger_transfer', ro: false }, { name: 'ledger_burn', ro: false },
  { name: 'ledger_transfer_batch', ro: false }, { name: 'ledger_top', ro: true }, { name: 'ledger_events', ro: true },
  { name: 'ledger_version', ro: true },
];

// Values that pass some checks, so that the later checks (and successes) are reached too.
const knownGood = [
  'treasury', 'alice', 'bob', '0.0.1234', 'a@b.c:d-e_f', '-', 'op-1', 'op-2', '1', '2', '0', '10', '36', '1000', '1001',
  '9007199254740992', '9007199254740993', amountMax, `${amountMax}0`, (2n ** 256n).toString(), '0-0', '0-1', `${u64Max}-${u64Max}`,
  `${u64Max}0-0`, `0-${u64Max}0`, '99999999999999999999-0', 'Fuzz token', 'FZ', '01', '1e3', ' 1', '+1', '-1', '1.0', '0x10', 'A'.repeat(128), 'A'.repeat(129),
];

const bytes = fc.uint8Array({ maxLength: 160 }).map((b) => Buffer.from(b));
const notUtf8 = fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom(0x80, 0xc0, 0xc3, 0xe2, 0xf0, 0xf8, 0xfe, 0xff), fc.string({ maxLength: 20 }))
  .map(([a, byte, b]) => Buffer.concat([Buffer.from(a), Buffer.from([byte]), Buffer.from(b)]));
const arg: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...knownGood) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: bytes },
  { weight: 2, arbitrary: notUtf8 },
  { weight: 2, arbitrary: fc.stringMatching(/^[0-9]{1,82}$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[0-9]{1,22}-[0-9]{1,22}$/) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,130}$/) },
  { weight: 1, arbitrary: fc.bigInt({ min: -1n, max: 2n ** 260n }).map(String) },
);
const keys: fc.Arbitrary<(string | Buffer)[]> = fc.oneof(
  { weight: 8, arbitrary: fc.constant([key]).map((k) => [...k]) },
  { weight: 1, arbitrary: fc.constant(['token:{NOPE}']).map((k) => [...k]) },
  { weight: 1, arbitrary: fc.array(fc.oneof(arg, fc.constant(key)), { maxLength: 2 }) },
);

/** Shaped batches (opId, n, then triples) besides the arbitrary argument lists. */
const batchArgs = fc.tuple(arg, fc.oneof(fc.constantFrom('1', '2', '3'), arg), fc.array(fc.tuple(arg, arg, arg), { maxLength: 3 }))
  .map(([opId, n, legs]) => [opId, n, ...legs.flat()]);

const callInput = fc.record({
  fn: fc.constantFrom(...functions),
  readOnlyCall: fc.boolean(),
  keys,
  args: fc.oneof(fc.array(arg, { maxLength: 7 }), batchArgs),
});

function firstWord(message: string): string {
  return message.split(' ', 1)[0]!;
}

const show = (value: unknown) => JSON.stringify(value, (_k, v) => (v && v.type === 'Buffer' ? `<bytes ${Buffer.from(v.data).toString('hex')}>` : v));

describe('faults: fuzzing the input layers', function () {
  this.timeout(300_000);
  let server: RedisServer;
  let redis: RedisConnection;
  const stats = { calls: 0, ok: 0, rejected: 0, requests: 0, refusedByClient: 0 };

  before(async () => {
    server = await startRedis({ extraArgs: ['--enable-debug-command', 'yes'] });
    redis = await connectRedis({ url: server.url });
    await migrate(redis);
    await ledger.init(redis, symbol, { name: 'Fuzz token', decimals: 6, totalSupply: (2n ** 255n).toString(), treasury: 'treasury' });
    await ledger.transfer(redis, symbol, { from: 'treasury', to: 'alice', amount: '9007199254740993', opId: 'op-1' });
    await ledger.transfer(redis, symbol, { from: 'treasury', to: 'bob', amount: '10', opId: 'op-2' });
  });
  after(async () => {
    console.log(`      [faults] fuzz: ${stats.calls} FCALLs (${stats.ok} ok, ${stats.rejected} rejected), ${stats.requests} HTTP requests (${stats.refusedByClient} refused by the client itself)`);
    redis?.destroy();
    await server?.stop();
  });

  const send = (args: (string | Buffer)[]) => (redis as RedisClientType).sendCommand(args);
  const digest = async () => String(await send(['DEBUG', 'DIGEST']));

  it('ledger_events refuses stream ids past 2^64-1 with INVALID_ARGUMENT (a Redis ERR before; found by this fuzzer)', async () => {
    for (const after of [`${u64Max}0-0`, '18446744073709551616-0', '1-18446744073709551616', '99999999999999999999-0']) {
      const error = await send(['FCALL_RO', 'ledger_events', '1', key, after, '10']).then(() => null, (e: Error) => e);
      expect(error?.message, after).to.match(/^INVALID_ARGUMENT /);
    }
    expect(await send(['FCALL_RO', 'ledger_events', '1', key, `${u64Max}-${u64Max}`, '10'])).to.deep.equal([]);
    expect(await send(['FCALL_RO', 'ledger_events', '1', key, `${u64Max}-${u64Max}`, '10', 'alice'])).to.deep.equal([]);
    expect(await send(['FCALL_RO', 'ledger_events', '1', key, '00000000000000000000000-0', '1'])).to.have.length(1);
  });

  it('Lua: every rejection is a catalog code and changes nothing', async () => {
    const codes = new Set(Object.keys(ledgerErrorCatalog));
    await fc.assert(fc.asyncProperty(callInput, async ({ fn, readOnlyCall, keys: callKeys, args }) => {
      const command = readOnlyCall && fn.ro ? 'FCALL_RO' : 'FCALL';
      const before = await digest();
      stats.calls += 1;
      let reply: unknown;
      try {
        reply = await send([command, fn.name, String(callKeys.length), ...callKeys, ...args]);
      } catch (error) {
        if (!(error instanceof ErrorReply)) throw error;
        stats.rejected += 1;
        expect(codes.has(firstWord(error.message)), `${command} ${fn.name} ${show(callKeys)} ${show(args)} -> ${error.message}`).to.equal(true);
        expect(await digest(), `${fn.name} ${show(args)} was rejected (${firstWord(error.message)}) but changed the data`).to.equal(before);
        return;
      }
      stats.ok += 1;
      expect(reply).to.not.equal(undefined);
      if (fn.ro) expect(await digest(), `read-only ${fn.name} changed the data`).to.equal(before);
    }), params);
  });

  describe('REST', () => {
    let app: TestApp;
    const admin = mint('ops', { admin: true, expiresInSeconds: 3_600 });
    const alice = mint('alice', { expiresInSeconds: 3_600 });
    before(async () => { app = await startApp({ redisUrl: server.url }); });
    after(async () => { await app?.close(); });

    const segment = fc.oneof(
      fc.constantFrom('v1', 'tokens', symbol, 'NOPE', 'transfers', 'batch', 'burns', 'balances', 'holders', 'events', 'alice', 'treasury', '..', '.', '', '%', '%zz', '%00', '%ff', '%2F'),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
      bytes.map((b) => [...b.subarray(0, 12)].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')),
    );
    const path = fc.oneof(
      fc.constantFrom('/v1/tokens', `/v1/tokens/${symbol}`, `/v1/tokens/${symbol}/transfers`, `/v1/tokens/${symbol}/transfers/batch`,
        `/v1/tokens/${symbol}/burns`, `/v1/tokens/${symbol}/balances/alice`, `/v1/tokens/${symbol}/holders`, `/v1/tokens/${symbol}/events`),
      fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => `/${parts.join('/')}`),
    );
    const queryValue = fc.oneof(fc.constantFrom('1', '0', '1000', '1001', '-', '0-0', 'alice', `${u64Max}-0`, `${u64Max}0-0`, '99999999999999999999-0', `${u64Max}-${u64Max}`, ''), fc.string({ maxLength: 20 }));
    const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom('limit', 'after', 'account', 'cursor', 'tokenId', 'limit[]', '__proto__'), fc.string({ maxLength: 8 })), queryValue), { maxLength: 4 })
      .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`));
    const jsonValue = fc.oneof(fc.constantFrom(...knownGood), fc.string({ maxLength: 30 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), fc.object({ maxDepth: 1 }));
    const field = (names: string[]) => fc.dictionary(fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 8 })), jsonValue, { maxKeys: 5 });
    const body = fc.oneof(
      field(['to', 'amount', 'from']).map((o) => JSON.stringify(o)),
      field(['amount', 'account']).map((o) => JSON.stringify(o)),
      field(['symbol', 'name', 'decimals', 'totalSupply', 'treasury']).map((o) => JSON.stringify(o)),
      fc.array(field(['from', 'to', 'amount']), { maxLength: 3 }).map((legs) => JSON.stringify({ legs })),
      fc.json().map(String),
      fc.string({ maxLength: 60 }),
      bytes,
      fc.constant(''),
      fc.constant('{"__proto__":{"admin":true},"to":"bob","amount":"1"}'),
    );
    // What node:http lets through in a header value: tab, printable ASCII and Latin-1.
    const headerValue = fc.oneof(fc.constantFrom('op-9', 'op-1', '', '-', 'x'.repeat(129), 'ünïcode'), fc.stringMatching(/^[\t\x20-\x7e\x80-\xff]{0,30}$/), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,130}$/));
    const auth = fc.constantFrom('admin', 'alice', 'none', 'garbage', 'bearer-garbage');
    const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', undefined);
    const extraHeader = fc.option(fc.tuple(fc.constantFrom('x-request-id', 'content-encoding', 'accept', 'x-forwarded-for'), headerValue));
    const toQuery = (q: Record<string, string>) => {
      const pairs = Object.entries(q);
      return pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
    };
    // Most requests are shaped like a real route's (its method, an admin's or alice's token,
    // its own parameters with values around each rule's edges), so that fuzzed values get past
    // the first checks and reach the ledger; the rest are arbitrary.
    const limit = fc.oneof(fc.constantFrom('1', '10', '1000', '1001', '0', '01', ''), fc.stringMatching(/^[0-9]{1,8}$/));
    const afterId = fc.oneof(fc.constantFrom('-', '0-0', `${u64Max}-0`, `${u64Max}-${u64Max}`, '99999999999999999999-0', `0-${u64Max}0`), fc.stringMatching(/^[0-9]{1,21}-[0-9]{1,21}$/), queryValue);
    const account = fc.oneof(fc.constantFrom('alice', 'bob', 'treasury', 'al ice'), queryValue);
    const shapedQuery = {
      events: fc.record({ after: afterId, limit, account }, { requiredKeys: [] }),
      holders: fc.record({ limit }, { requiredKeys: [] }),
      list: fc.record({ limit, cursor: queryValue }, { requiredKeys: [] }),
    };
    const get = (paths: fc.Arbitrary<string>, q: fc.Arbitrary<Record<string, string>>) => fc.record({
      method: fc.constant('GET'), path: paths, query: q.map(toQuery), auth: fc.constantFrom('admin', 'alice'), contentType: fc.constant(undefined),
      idempotencyKey: fc.constant(null), extraHeader, body: fc.constant(null),
    });
    const post = (paths: fc.Arbitrary<string>, bodies: fc.Arbitrary<string | Buffer>) => fc.record({
      method: fc.constant('POST'), path: paths, query: fc.constant(''), auth: fc.constantFrom('admin', 'alice'), contentType: fc.constant('application/json'),
      idempotencyKey: fc.option(headerValue), extraHeader, body: bodies,
    });
    const shaped = fc.oneof(
      get(fc.constant(`/v1/tokens/${symbol}/events`), shapedQuery.events),
      get(fc.constant(`/v1/tokens/${symbol}/holders`), shapedQuery.holders),
      get(fc.constant('/v1/tokens'), shapedQuery.list),
      get(fc.oneof(fc.constantFrom(`/v1/tokens/${symbol}`, `/v1/tokens/${symbol}/balances/alice`), segment.map((x) => `/v1/tokens/${symbol}/balances/${x}`), segment.map((x) => `/v1/tokens/${x}`)), fc.constant({})),
      post(fc.constant(`/v1/tokens/${symbol}/transfers`), field(['to', 'amount', 'from']).map((o) => JSON.stringify(o))),
      post(fc.constant(`/v1/tokens/${symbol}/burns`), field(['amount', 'account']).map((o) => JSON.stringify(o))),
      post(fc.constant(`/v1/tokens/${symbol}/transfers/batch`), fc.array(field(['from', 'to', 'amount']), { maxLength: 3 }).map((legs) => JSON.stringify({ legs }))),
      post(fc.constant('/v1/tokens'), field(['symbol', 'name', 'decimals', 'totalSupply', 'treasury']).map((o) => JSON.stringify(o))),
    );
    const free = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
      path, query, auth, contentType, idempotencyKey: fc.option(headerValue), extraHeader, body: fc.option(body),
    });
    const request = fc.oneof({ weight: 3, arbitrary: shaped }, { weight: 2, arbitrary: free });

    it('never answers 5xx, always with a catalog code, and changes nothing when it refuses', async () => {
      const codes = new Set(Object.keys(errorCatalog));
      await fc.assert(fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.auth === 'admin') headers.authorization = `Bearer ${admin}`;
        else if (r.auth === 'alice') headers.authorization = `Bearer ${alice}`;
        else if (r.auth === 'garbage') headers.authorization = 'Basic Zm9vOmJhcg==';
        else if (r.auth === 'bearer-garbage') headers.authorization = 'Bearer a.b.c';
        if (r.contentType) headers['content-type'] = r.contentType;
        if (r.idempotencyKey !== null) headers['idempotency-key'] = r.idempotencyKey;
        if (r.extraHeader) headers[r.extraHeader[0]] = r.extraHeader[1];
        // Without a length, node:http sends a GET's body as the start of the next request, which
        // Node's own parser refuses (400, no body): not the input layer under test.
        if (r.body !== null) headers['content-length'] = String(Buffer.byteLength(r.body));
        const before = await digest();
        let reply;
        try {
          reply = await rawCall(app.url, r.method, `${r.path}${r.query}`, headers, r.body ?? undefined);
        } catch (error) {
          // node:http itself refuses some header values and paths: nothing was sent.
          if (error instanceof TypeError || /Invalid|ERR_/.test(String((error as { code?: string }).code ?? (error as Error).message))) {
            stats.refusedByClient += 1;
            return;
          }
          throw error;
        }
        stats.requests += 1;
        const where = `${r.method} ${r.path}${r.query} ${show(headers)} ${show(r.body)} -> ${reply.status} ${reply.text.slice(0, 300)}`;
        expect(reply.status, where).to.be.below(500);
        if (reply.status >= 400 && r.method !== 'HEAD') {
          expect(codes.has(reply.body?.error?.code), where).to.equal(true);
          expect(reply.status, where).to.equal(errorCatalog[reply.body.error.code as keyof typeof errorCatalog].status);
        }
        if (reply.status >= 400 || r.method === 'GET' || r.method === 'HEAD') expect(await digest(), `refused or read-only but changed the data: ${where}`).to.equal(before);
      }), { ...params, numRuns: Math.ceil(runs / 2) });
    });
  });
});
