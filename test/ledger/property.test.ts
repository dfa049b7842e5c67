// Property test: random sequences of init, transfer, burn and batch (with replayed and
// conflicting opIds, amounts up to 2^256 - 1) against a BigInt model. After every sequence, every
// balance, both supplies, the holder count and the full ledger_top order must match the model.
import { expect } from 'chai';
import fc from 'fast-check';
import { connect } from '../../testkit/clients.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import * as ledger from '../../src/ledger/functions.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import type { RedisConnection } from '../../src/connections.ts';

const MAX = (1n << 256n) - 1n;
const accounts = ['treasury', 'alice', 'bob', 'carol', 'dave', 'a', 'ab'];
const opIds = [undefined, undefined, 'op-1', 'op-2', 'op-3'];

type AmountSpec = { abs: bigint } | { percent: number };
type Leg = { from: string; to: string; amount: AmountSpec };
type Op =
  | { kind: 'transfer'; leg: Leg; opId?: string }
  | { kind: 'burn'; account: string; amount: AmountSpec; opId?: string }
  | { kind: 'batch'; legs: Leg[]; opId?: string }
  | { kind: 'reinit'; same: boolean }
  | { kind: 'repeat' };

/** An operation with its amounts resolved; a burn is one leg whose `to` is ''. */
type Request = { kind: 'transfer' | 'burn' | 'batch'; legs: { from: string; to: string; amount: bigint }[]; opId?: string };

const account = fc.constantFrom(...accounts);
const opId = fc.constantFrom(...opIds);
// Near a power of ten or of two: where the library's 15-digit chunks carry and borrow, its fast
// paths for short amounts stop, and balances cross between the two rank sets (2^53).
const boundary = fc.tuple(fc.oneof(fc.integer({ min: 0, max: 77 }).map((e) => 10n ** BigInt(e)), fc.integer({ min: 0, max: 255 }).map((e) => 1n << BigInt(e))),
  fc.integer({ min: -2, max: 2 })).map(([base, d]) => { const v = base + BigInt(d); return v < 0n ? 0n : v > MAX ? MAX : v; });
const amount: fc.Arbitrary<AmountSpec> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ abs: fc.bigInt({ min: 0n, max: MAX }) }) },
  { weight: 1, arbitrary: fc.record({ abs: boundary }) },
  { weight: 1, arbitrary: fc.record({ abs: fc.bigInt({ min: 0n, max: 1000n }) }) },
  { weight: 4, arbitrary: fc.record({ percent: fc.integer({ min: 0, max: 110 }) }) },
);
// Sources lean towards the treasury, which holds funds from the start.
const source = fc.oneof({ weight: 2, arbitrary: fc.constant('treasury') }, { weight: 3, arbitrary: account });
const leg = fc.record({ from: source, to: account, amount });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('transfer' as const), leg, opId }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('burn' as const), account: source, amount, opId }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('batch' as const), legs: fc.array(leg, { minLength: 1, maxLength: 4 }), opId }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reinit' as const), same: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'repeat' as const }) },
);

function resolve(model: Model, o: Extract<Op, { kind: 'transfer' | 'burn' | 'batch' }>): Request {
  const legs = o.kind === 'transfer' ? [o.leg] : o.kind === 'batch' ? o.legs : [{ from: o.account, to: '', amount: o.amount }];
  return { kind: o.kind, opId: o.opId, legs: legs.map((l) => ({ from: l.from, to: l.to, amount: model.resolve(l.amount, l.from) })) };
}

class Model {
  balances = new Map<string, bigint>();
  records = new Map<string, { params: string; reply: unknown }>();
  total: bigint;
  circulating: bigint;
  constructor(supply: bigint, treasury: string) {
    this.total = supply;
    this.circulating = supply;
    this.balances.set(treasury, supply);
  }
  get(a: string): bigint { return this.balances.get(a) ?? 0n; }
  set(a: string, v: bigint) { if (v === 0n) this.balances.delete(a); else this.balances.set(a, v); }
  resolve(spec: AmountSpec, from: string): bigint {
    return 'abs' in spec ? spec.abs : (this.get(from) * BigInt(spec.percent)) / 100n;
  }
  top(): { account: string; balance: string }[] {
    return [...this.balances].sort(([a, x], [b, y]) => (x > y ? -1 : x < y ? 1 : a < b ? -1 : a > b ? 1 : 0))
      .map(([account, balance]) => ({ account, balance: balance.toString() }));
  }
}

/**
 * The code the model expects after the shape checks, or null for success; on success the
 * operation is applied to the model. A burn is one leg whose `to` is ''.
 */
function applyToModel(model: Model, kind: Request['kind'], legs: Request['legs']): string | null {
  const next = new Map(model.balances);
  const get = (a: string) => next.get(a) ?? 0n;
  for (const { from, to, amount } of legs) {
    if (get(from) < amount) return 'INSUFFICIENT_FUNDS';
    next.set(from, get(from) - amount);
    if (kind !== 'burn') next.set(to, get(to) + amount);
  }
  model.balances = new Map([...next].filter(([, v]) => v !== 0n));
  if (kind === 'burn') model.circulating -= legs[0]!.amount;
  return null;
}

describe('ledger property: random sequences match a BigInt model', function () {
  this.timeout(180_000);
  let redis: RedisConnection;
  before(async () => { redis = await connect(sharedRedisUrl()); });
  after(() => { redis.destroy(); });

  it('holds for 1,000 sequences of up to 12 operations', async () => {
    let committed = 0, replayed = 0, rejected = 0;
    await fc.assert(fc.asyncProperty(
      fc.oneof(fc.bigInt({ min: 1n, max: MAX }), boundary.filter((v) => v > 0n)), fc.constantFrom('treasury', 'treasury', 'alice'), fc.array(op, { minLength: 1, maxLength: 12 }),
      async (supply, treasury, ops) => {
        const sym = uniqueSymbol('P');
        const params = { name: 'Prop', decimals: 18, totalSupply: supply.toString(), treasury };
        expect(await ledger.init(redis, sym, params)).to.equal('created');
        const model = new Model(supply, treasury);
        let last: Request | undefined;
        for (const o of ops) {
          if (o.kind === 'reinit') {
            const attempt = ledger.init(redis, sym, o.same ? params : { ...params, name: 'Other' });
            if (o.same) expect(await attempt).to.equal('exists');
            else await attempt.then(() => expect.fail('init with other parameters succeeded'), (e) => expect(e.code).to.equal('TOKEN_EXISTS'));
            continue;
          }
          // Amounts relative to a balance resolve against the model before this operation; a
          // repeat sends the previous request again, byte for byte.
          const request: Request | undefined = o.kind === 'repeat' ? last : resolve(model, o);
          if (!request) continue;
          last = request;
          const { kind, legs, opId } = request;
          const amounts = legs.map((l) => l.amount.toString());
          const call = kind === 'transfer'
            ? ledger.transfer(redis, sym, { from: legs[0]!.from, to: legs[0]!.to, amount: amounts[0]!, opId })
            : kind === 'burn'
              ? ledger.burn(redis, sym, { account: legs[0]!.from, amount: amounts[0]!, opId })
              : ledger.transferBatch(redis, sym, { opId, legs: legs.map((l, i) => ({ from: l.from, to: l.to, amount: amounts[i]! })) });
          const actual = await call.then((reply) => ({ reply }), (error: unknown) => ({ error }));
          if ('error' in actual && !(actual.error instanceof LedgerError)) throw actual.error;
          const code = 'error' in actual ? (actual.error as LedgerError).code : undefined;
          // Shape errors come first, each code across all legs before the next (every amount,
          // then every same-account leg); then a known opId replays or conflicts; then funds.
          const badAmount = legs.some((l) => l.amount === 0n || l.amount > MAX);
          const sameAccount = kind !== 'burn' && legs.some((l) => l.from === l.to);
          const shape = badAmount ? 'INVALID_AMOUNT' : sameAccount ? 'SAME_ACCOUNT' : null;
          if (shape) {
            expect(code).to.equal(shape);
            rejected++;
            continue;
          }
          const key = JSON.stringify([kind, legs.map((l, i) => [l.from, l.to, amounts[i]])]);
          const record = opId ? model.records.get(opId) : undefined;
          if (record) {
            if (record.params === key) { expect(actual).to.deep.equal({ reply: record.reply }); replayed++; }
            else { expect(code).to.equal('OP_CONFLICT'); rejected++; }
            continue;
          }
          const expected = applyToModel(model, kind, legs);
          expect(code ?? null).to.equal(expected);
          if (expected) { rejected++; continue; }
          if (opId) model.records.set(opId, { params: key, reply: (actual as { reply: unknown }).reply });
          committed++;
        }
        const balances = await redis.hGetAll(`token:{${sym}}:balances`);
        expect(Object.fromEntries(Object.entries(balances).map(([k, v]) => [k, String(v)])))
          .to.deep.equal(Object.fromEntries([...model.balances].map(([k, v]) => [k, v.toString()])));
        expect(await ledger.supply(redis, sym)).to.deep.equal({ totalSupply: model.total.toString(), circulatingSupply: model.circulating.toString() });
        expect((await ledger.info(redis, sym)).holders).to.equal(model.balances.size);
        expect(await ledger.top(redis, sym, 1000)).to.deep.equal(model.top());
        const sum = [...model.balances.values()].reduce((a, b) => a + b, 0n);
        expect(sum).to.equal(model.circulating);
      },
    ), { numRuns: 1000 });
    console.log(`      ${committed} committed, ${replayed} replayed, ${rejected} rejected`);
    // The generators must actually exercise every path, or the property proves little.
    expect(committed).to.be.greaterThan(500);
    expect(replayed).to.be.greaterThan(50);
    expect(rejected).to.be.greaterThan(500);
  });
});
