// ledger_log_archived and ledger_log_trim, the contract of docs/ledger-functions.md (A bounded
// log): the archived mark only moves forward and names an entry of the log; a trim never passes
// the mark, keeps the log's last entry, records the new start in the same call and is harmless to
// repeat; ledger_events before the trim point answers LOG_TRIMMED with the last trimmed id, from
// it on exactly as before.
import { expect } from 'chai';
import type { RedisConnection } from '../../src/connections.ts';
import * as ledger from '../../src/ledger/functions.ts';
import { declaredKeys } from '../../src/ledger/keys.ts';
import { connect } from '../../testkit/clients.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';

describe('ledger_log_archived, ledger_log_trim', () => {
  let redis: RedisConnection;
  before(async () => { redis = await connect(sharedRedisUrl()) as unknown as RedisConnection; });
  after(() => { (redis as unknown as { destroy(): void }).destroy(); });

  const codeOf = (promise: Promise<unknown>) => promise.then(() => null, (e: { code?: string; message: string }) => e.code ?? e.message);

  it('trims only what is marked archived, keeps the last entry, records where the log starts, and repeats harmlessly', async () => {
    const symbol = uniqueSymbol('L');
    await ledger.init(redis, symbol, { name: 'Trim', decimals: 0, totalSupply: '1000', treasury: 'a' });
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push((await ledger.transfer(redis, symbol, { from: 'a', to: `b${i}`, amount: '1' })).eventId);
    const events = (after: string) => redis.fCallRo('ledger_events', { keys: declaredKeys(symbol), arguments: [after, '100'] }) as Promise<[string, unknown][]>;
    const untrimmed = await events('-');
    expect(untrimmed).to.have.length(7);

    expect(await codeOf(ledger.logTrim(redis, symbol, ids[1]!))).to.equal('LOG_NOT_ARCHIVED');
    expect(await codeOf(ledger.logArchived(redis, symbol, '1-0'))).to.equal('INVALID_ARGUMENT'); // not an entry
    expect(await codeOf(ledger.logArchived(redis, symbol, 'x'))).to.equal('INVALID_ARGUMENT');
    expect(await ledger.logArchived(redis, symbol, ids[2]!)).to.equal(ids[2]);
    expect(await ledger.logArchived(redis, symbol, ids[1]!)).to.equal(ids[2]); // only forward
    expect(await codeOf(ledger.logTrim(redis, symbol, ids[3]!))).to.equal('LOG_NOT_ARCHIVED');
    expect(await ledger.logTrim(redis, symbol, ids[2]!)).to.deep.equal({ removed: 4, trimmedTo: ids[2], firstId: ids[3] });
    expect(await ledger.logTrim(redis, symbol, ids[1]!)).to.deep.equal({ removed: 0, trimmedTo: ids[2], firstId: ids[3] });
    expect(await redis.xLen(`token:{${symbol}}:log`)).to.equal(3);
    const info = await redis.fCallRo('ledger_info', { keys: declaredKeys(symbol), arguments: [] }) as string[];
    expect(info.map(String)).to.include.members(['logArchivedTo', ids[2], 'logTrimmedTo', ids[2]]);

    // Readers: before the trim point, LOG_TRIMMED naming it; from it on, as before.
    for (const after of ['-', ids[0]!, ids[1]!]) {
      const error = await events(after).then(() => null, (e: Error) => e.message);
      expect(error, after).to.match(new RegExp(`^LOG_TRIMMED ${ids[2]} `));
    }
    expect((await events(ids[2]!)).map(([id]) => String(id))).to.deep.equal(ids.slice(3));
    expect(await events(ids[5]!)).to.deep.equal([]);
    const page = await ledger.events(redis, symbol, { after: ids[2]!, count: 10 });
    expect(page.events.map((e) => e.id)).to.deep.equal(ids.slice(3));

    // The last entry stays.
    await ledger.logArchived(redis, symbol, ids[5]!);
    expect(await codeOf(ledger.logTrim(redis, symbol, ids[5]!))).to.equal('INVALID_ARGUMENT');
    expect(await ledger.logTrim(redis, symbol, ids[4]!)).to.deep.equal({ removed: 2, trimmedTo: ids[4], firstId: ids[5] });
    expect(await codeOf(ledger.logTrim(redis, uniqueSymbol('N'), ids[0]!))).to.equal('TOKEN_NOT_FOUND');
  });
});
