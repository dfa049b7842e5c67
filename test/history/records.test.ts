// Ledger snapshot records in the metadata store (Redis): a symbol as tokenId and event ids as the
// points, listed by symbol; the Hedera rules stay as they were for every other network.
import { expect } from 'chai';
import { InvalidSnapshotFieldError } from '../../src/snapshots/store/metadata-store.ts';
import { createRedisSnapshotStore } from '../../src/snapshots/store/redis.ts';
import { connect } from '../../testkit/clients.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import type { RedisConnection } from '../../src/connections.ts';

describe('ledger snapshot records', () => {
  let client: Awaited<ReturnType<typeof connect>>;
  let store: ReturnType<typeof createRedisSnapshotStore>;
  before(async () => {
    client = await connect(sharedRedisUrl());
    store = createRedisSnapshotStore({ redis: client as unknown as RedisConnection, keyPrefix: `test:rec:${uniqueSymbol().toLowerCase()}:` });
  });
  after(() => { client?.destroy(); });

  it('stores a ledger record with a symbol and event ids, completes it at an event id, and lists it by symbol', async () => {
    const symbol = uniqueSymbol('R');
    const record = await store.create({ tokenId: symbol, network: 'ledger', requestedTimestamp: '1700000000000-3', requestedBy: 'root' });
    expect(record).to.include({ tokenId: symbol, network: 'ledger', requestedTimestamp: '1700000000000-3', status: 'queued' });
    await store.update(record.snapshotId, { status: 'running' });
    const done = await store.update(record.snapshotId, { status: 'completed', cid: 'bafkreiabc', bytes: 10, holders: 1, totalBalance: '5', consensusTimestamp: '1700000000000-3' });
    expect(done.consensusTimestamp).to.equal('1700000000000-3');
    const page = await store.list({ tokenId: symbol, status: 'completed' });
    expect(page.items.map((r) => r.snapshotId)).to.deep.equal([record.snapshotId]);
  });

  it('refuses a Hedera id for a ledger record, a timestamp for its point, and an event id for a Hedera record', async () => {
    const cases = [
      { tokenId: '0.0.5', network: 'ledger', requestedTimestamp: '1-0' },
      { tokenId: 'GOLD', network: 'ledger', requestedTimestamp: '1700000000.000000000' },
      { tokenId: '0.0.5', network: 'testnet', requestedTimestamp: '1700000000000-3' },
      { tokenId: 'GOLD', network: 'testnet' },
    ];
    for (const input of cases) {
      let error: unknown;
      try { await store.create(input); } catch (e) { error = e; }
      expect(error, JSON.stringify(input)).to.be.instanceOf(InvalidSnapshotFieldError);
    }
  });
});
