// Automatic checkpoints: the worker's recurring check requests a ledger snapshot of each token whose
// log has LEDGER_CHECKPOINT_EVERY_ENTRIES entries after its latest one, and of no other token.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { start, type Started } from '../../src/main.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { until } from '../../testkit/wait.ts';
import { testSecret } from '../http/support.ts';
import { generateWorkload } from './workload.ts';

describe('history: automatic checkpoints', function () {
  this.timeout(120_000);
  let dataDir: string;
  let app: Started;
  const ledgerRecords = async (symbol: string) => {
    const { createRedisSnapshotStore } = await import('../../src/snapshots/store/redis.ts');
    const store = createRedisSnapshotStore({ redis: app.redis, keyPrefix: `${namespace}:snap:` });
    return (await store.list({ tokenId: symbol, limit: 100 })).items;
  };
  const namespace = `ckpt${uniqueSymbol().toLowerCase()}`;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tally-checkpoints-'));
    app = await start(loadConfig({
      REDIS_URL: sharedRedisUrl(), JWT_SECRET: testSecret, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent',
      JOB_POLL_MS: '100', JOB_LOCK_LIFETIME_MS: '10000', TALLY_NAMESPACE: namespace,
      SCHEDULE_MIN_INTERVAL_MS: '1000', LEDGER_CHECKPOINT_CHECK_MS: '1000', LEDGER_CHECKPOINT_EVERY_ENTRIES: '200',
    }), { logger: createLogger('silent') });
  });
  after(async () => {
    await app?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('checkpoints a token once 200 entries follow its last checkpoint (counted across checks), at the end of its log, and leaves a quiet token alone', async () => {
    const busy = uniqueSymbol('B');
    const quiet = uniqueSymbol('Q');
    const w = await generateWorkload(app.ledger, busy, { operations: 3_000, accounts: 40, seed: 21 });
    await app.ledger.init(quiet, { name: 'Quiet', decimals: 0, totalSupply: '1000', treasury: 'q' });
    const end = w.rounds.at(-1)!.eventId;
    expect(await app.redis.xLen(`token:{${busy}}:log`)).to.be.above(200);
    await until(async () => (await ledgerRecords(busy)).some((r) => r.status === 'completed'), { timeoutMs: 30_000, what: 'a checkpoint of the busy token' });
    const [record] = await ledgerRecords(busy);
    expect(record).to.include({ network: 'ledger', requestedBy: 'tally-checkpoints', consensusTimestamp: end, totalBalance: String(w.rounds.at(-1)!.circulating) });
    expect(await ledgerRecords(quiet)).to.deep.equal([]);
    // Fewer than 200 new entries: no second checkpoint.
    await app.ledger.transfer(busy, { from: '0.0.2', to: 'someone', amount: '1' });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await ledgerRecords(busy)).to.have.length(1);
    // 250 more, in two parts counted by two checks: the second checkpoint comes at the new end.
    for (let i = 0; i < 120; i++) await app.ledger.transfer(busy, { from: '0.0.2', to: 'someone', amount: '1' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const ids: string[] = [];
    for (let i = 0; i < 130; i++) ids.push((await app.ledger.transfer(busy, { from: '0.0.2', to: 'someone', amount: '1' })).eventId);
    await until(async () => (await ledgerRecords(busy)).filter((r) => r.status === 'completed').length === 2, { timeoutMs: 30_000, what: 'a second checkpoint' });
    // At the log's end when a check found 200 entries after the first: the 79th of these or later (1 + 120 + 79 = 200).
    expect(ids.slice(78)).to.include((await ledgerRecords(busy))[0]!.consensusTimestamp);
  });
});
