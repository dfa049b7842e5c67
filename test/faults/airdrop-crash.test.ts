// A worker SIGKILLed mid-airdrop, twice, with real processes (one API, one worker at a time) on
// one Redis: each time a new worker takes the job over once its lock expires and resumes at the
// first chunk not recorded. Afterwards every holder of the 10,000-holder snapshot holds exactly
// its share (read straight from Redis), the log holds each chunk's batch exactly once, in order,
// under its opId, and `tally audit` finds the token sound.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClientType } from 'redis';
import { chunkOpId } from '../../src/airdrops/executor.ts';
import { createLedger } from '../../src/ledger/client.ts';
import { connect } from '../../testkit/clients.ts';
import { freePort } from '../../testkit/free-port.ts';
import { type FakeMirrorNode, generateHolders, startMirrorNode } from '../../testkit/mirror-node.ts';
import { runToExit, spawnTally, type TallyProcess } from '../../testkit/processes.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep, until } from '../../testkit/wait.ts';
import { balancesInRedis, expectedProRata } from '../airdrops/rig.ts';
import { call, mint, testSecret } from '../http/support.ts';
import { report } from './support.ts';

const tokenId = '0.0.990016';
const treasury = 'rewards-treasury';
const supply = 10n ** 36n;
const total = 10n ** 30n + 12_345n;
const chunkLegs = 100;

describe('faults: the worker SIGKILLed mid-airdrop', function () {
  this.timeout(240_000);
  const holders = generateHolders({ count: 10_000, seed: 99 });
  const admin = mint('airdrop-admin', { admin: true, expiresInSeconds: 900 });
  let mirror: FakeMirrorNode;
  let dataDir: string;
  let env: Record<string, string>;
  let api: TallyProcess;
  let worker: TallyProcess | undefined;
  let url: string;
  let redis: RedisClientType;

  const startWorker = async () => {
    worker = spawnTally({ ...env, ROLES: 'worker', PORT: '0' });
    await worker.waitFor(/tally started/);
  };
  const get = async (path: string) => (await call(url, 'GET', path, { token: admin })).body as Record<string, any>;

  before(async () => {
    mirror = await startMirrorNode({ tokens: [{ tokenId, name: 'Crash', symbol: 'CR', decimals: 0, totalSupply: holders.reduce((s, h) => s + h.balance, 0n), holders }] });
    dataDir = mkdtempSync(join(tmpdir(), 'tally-airdrop-crash-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = {
      REDIS_URL: sharedRedisUrl(), JWT_SECRET: testSecret, HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0', DATA_DIR: dataDir,
      MIRROR_NODE_URL: mirror.url, HEDERA_NETWORK: 'testnet', MIRROR_RPS: '1000', MIRROR_ATTEMPTS: '2', MIRROR_RETRY_BASE_MS: '20',
      JOB_POLL_MS: '200', JOB_LOCK_LIFETIME_MS: '2000', SNAPSHOT_BACKOFF_MS: '100', SHUTDOWN_TIMEOUT_MS: '5000',
      // 100 chunks of 100 legs, 30 ms apart: a few seconds to kill the worker in.
      AIRDROP_CHUNK_LEGS: String(chunkLegs), AIRDROP_CHUNK_PAUSE_MS: '30', TALLY_NAMESPACE: `adc${uniqueSymbol().toLowerCase()}`,
    };
    api = spawnTally({ ...env, ROLES: 'api', PORT: String(port) });
    await api.waitFor(/tally listening on/);
    await startWorker();
    redis = await connect(sharedRedisUrl());
  });
  after(async () => {
    redis?.destroy();
    await Promise.all([api?.stop(), worker?.stop()]);
    await mirror?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('pays every holder exactly once across two SIGKILLs, and the audit holds', async () => {
    const snapshot = await call(url, 'POST', '/v1/snapshots', { token: admin, body: { tokenId } });
    expect(snapshot.status, snapshot.text).to.equal(202);
    const { snapshotId } = snapshot.body as { snapshotId: string };
    await until(async () => (await get(`/v1/snapshots/${snapshotId}`)).status === 'completed', { what: 'the snapshot', timeoutMs: 60_000, stepMs: 100 });

    const symbol = uniqueSymbol('CRASH');
    const created = await call(url, 'POST', '/v1/tokens', { token: admin, body: { symbol, name: 'Crash rewards', decimals: 0, totalSupply: String(supply), treasury } });
    expect(created.status, created.text).to.equal(201);
    const posted = await call(url, 'POST', `/v1/tokens/${symbol}/airdrops`, { token: admin, body: { snapshotId, rule: 'proRata', total: String(total) }, headers: { 'idempotency-key': 'crash-1' } });
    expect(posted.status, posted.text).to.equal(202);
    const { airdropId, legs } = posted.body as { airdropId: string; legs: number };
    expect(legs, 'every holder has a share').to.equal(10_000);
    const path = `/v1/tokens/${symbol}/airdrops/${airdropId}`;

    const killedAt: number[] = [];
    for (const share of [0.25, 0.6]) {
      await until(async () => (await get(path)).paid >= legs * share, { what: `${share * 100} % paid`, timeoutMs: 60_000, stepMs: 10 });
      await sleep(Math.floor(Math.random() * 40)); // anywhere in the next chunk: before, during or after its commit
      await worker!.kill9();
      const atKill = await get(path);
      expect(atKill.status, 'killed mid-way').to.equal('running');
      expect(atKill.paid).to.be.below(legs);
      killedAt.push(atKill.paid);
      // Nothing moves while no worker runs.
      const paid = (await balancesInRedis(redis, symbol)).get(treasury);
      await sleep(300);
      expect((await balancesInRedis(redis, symbol)).get(treasury)).to.equal(paid);
      await startWorker();
    }
    await until(async () => ['completed', 'failed'].includes((await get(path)).status), { what: 'the airdrop to finish', timeoutMs: 90_000, stepMs: 100 });
    const done = await get(path);
    expect(done, JSON.stringify(done.error)).to.include({ status: 'completed', paid: legs, paidAmount: String(total), chunksDone: 100, chunks: 100 });
    expect(done.attempts).to.be.at.least(3);

    // Every holder exactly its share, straight from Redis.
    const expected = expectedProRata(holders, total);
    const balances = await balancesInRedis(redis, symbol);
    expect(balances.get(treasury)).to.equal(supply - total);
    const wrong = [...expected].filter(([account, amount]) => balances.get(account) !== amount);
    expect(wrong.slice(0, 5), `${wrong.length} holders paid wrongly`).to.deep.equal([]);
    expect(balances.size).to.equal(expected.size + 1);

    // Each chunk's batch once, in order, under its opId.
    const ledger = createLedger(redis);
    const opIds: string[] = [];
    for (let after = '-'; ;) {
      const page = await ledger.events(symbol, { after, count: 1000 });
      opIds.push(...page.events.filter((e) => e.type === 'batch').map((e) => e.opId!));
      if (page.end) break;
      after = page.next;
    }
    expect(opIds).to.deep.equal(Array.from({ length: 100 }, (_, i) => chunkOpId(airdropId, i)));

    const audit = await runToExit({ args: ['bin/tally.js', 'audit', symbol], env: { PATH: process.env.PATH ?? '', REDIS_URL: sharedRedisUrl() } }, 60_000);
    expect(JSON.parse(audit.trim().split('\n').at(-1)!)).to.include({ symbol, ok: true, violationCount: 0 });

    report('worker SIGKILLed mid-airdrop (twice)', {
      attempted: legs, acknowledged: done.paid, found: legs - wrong.length, lost: wrong.length, killedAtLegs: killedAt.join('/'), attempts: done.attempts,
    });
  });
});
