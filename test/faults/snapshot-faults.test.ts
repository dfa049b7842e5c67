// The mirror node failing mid-snapshot, with real processes (one API, one worker):
// - it answers 503 for a while, then recovers: the job completes;
// - it disappears (connections refused: a proxy in front of it is unplugged) long enough to
//   fail an attempt, then comes back: the next attempt resumes from the checkpoint;
// - it stays down: the job fails cleanly (status failed, an error, no CID, content 409).
// Whatever happens, a completed record's content is byte for byte the clean run's, and the
// snapshot stored before the faults still reads the same. (Workers killed at random points
// are covered by test/e2e/processes.test.ts: a SIGKILLed worker's job resumes elsewhere to
// the same CID.)
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, mint, testSecret } from '../http/support.ts';
import { type FakeMirrorNode, generateHolders, startMirrorNode } from '../../testkit/mirror-node.ts';
import { spawnTally, type TallyProcess } from '../../testkit/processes.ts';
import { freePort } from '../../testkit/free-port.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep, until } from '../../testkit/wait.ts';
import { report, startPlug } from './support.ts';

const tokenId = '0.0.660001';

describe('faults: the mirror node fails mid-snapshot', function () {
  this.timeout(180_000);
  let mirror: FakeMirrorNode;
  let proxy: Awaited<ReturnType<typeof startPlug>>;
  let dataDir: string;
  let api: TallyProcess;
  let worker: TallyProcess;
  let url: string;
  const user = mint('snapshot-user', { expiresInSeconds: 600 });
  const holders = generateHolders({ count: 6_000, seed: 66 });
  const outcomes: { status: string; sameBytes: boolean }[] = [];
  let reference: { snapshotId: string; cid: string; bytes: string };

  before(async () => {
    mirror = await startMirrorNode({ tokens: [{ tokenId, name: 'Mirror faults', symbol: 'MF', decimals: 0, totalSupply: holders.reduce((s, h) => s + h.balance, 0n), holders }] });
    proxy = await startPlug(Number(new URL(mirror.url).port));
    dataDir = mkdtempSync(join(tmpdir(), 'tally-mirror-faults-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const env = {
      REDIS_URL: sharedRedisUrl(), JWT_SECRET: testSecret, HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0', DATA_DIR: dataDir,
      MIRROR_NODE_URL: `http://127.0.0.1:${proxy.port}`, HEDERA_NETWORK: 'testnet', MIRROR_RPS: '1000',
      // Each mirror request: 4 tries over about 0.7 s; each job: 2 attempts, 300 ms apart.
      MIRROR_ATTEMPTS: '4', MIRROR_RETRY_BASE_MS: '100', MIRROR_TIMEOUT_MS: '2000', SNAPSHOT_ATTEMPTS: '2', SNAPSHOT_BACKOFF_MS: '300',
      JOB_POLL_MS: '200', JOB_LOCK_LIFETIME_MS: '3000', SHUTDOWN_TIMEOUT_MS: '5000', TALLY_NAMESPACE: `mf${uniqueSymbol().toLowerCase()}`,
    };
    api = spawnTally({ ...env, ROLES: 'api', PORT: String(port) });
    worker = spawnTally({ ...env, ROLES: 'worker', PORT: '0' });
    await api.waitFor(/tally listening on/);
    await worker.waitFor(/tally started/);
  });
  after(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await proxy?.unplug();
    await mirror?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function request(): Promise<string> {
    const posted = await call(url, 'POST', '/v1/snapshots', { token: user, body: { tokenId } });
    expect(posted.status, posted.text).to.equal(202);
    return (posted.body as { snapshotId: string }).snapshotId;
  }
  const record = async (id: string) => (await call(url, 'GET', `/v1/snapshots/${id}`, { token: user })).body as Record<string, any>;
  async function finished(id: string): Promise<Record<string, any>> {
    let r: Record<string, any> = {};
    await until(async () => { r = await record(id); return r.status === 'completed' || r.status === 'failed'; }, { what: `snapshot ${id} to finish`, timeoutMs: 60_000, stepMs: 100 });
    return r;
  }
  async function runningPast(id: string, progress: number): Promise<void> {
    await until(async () => { const r = await record(id); return r.status === 'running' && r.progress >= progress; }, { what: `snapshot ${id} past ${progress} %`, timeoutMs: 30_000, stepMs: 20 });
  }
  async function check(id: string, done: Record<string, any>): Promise<void> {
    const content = await call(url, 'GET', `/v1/snapshots/${id}/content`, { token: user });
    if (done.status === 'completed') {
      expect(done.cid).to.equal(reference.cid);
      outcomes.push({ status: 'completed', sameBytes: content.text === reference.bytes });
      expect(content.text === reference.bytes, 'a completed snapshot has the clean run\'s bytes').to.equal(true);
    } else {
      outcomes.push({ status: 'failed', sameBytes: false });
      expect(done.cid).to.equal(null);
      expect(done.error?.message ?? done.error, 'a failed snapshot says why').to.be.a('string').and.not.equal('');
      expect(content.status).to.equal(409);
      expect(content.body.error.code).to.equal('NOT_READY');
    }
  }

  it('records a clean run first', async () => {
    const id = await request();
    const done = await finished(id);
    expect(done.status).to.equal('completed');
    const content = await call(url, 'GET', `/v1/snapshots/${id}/content`, { token: user });
    reference = { snapshotId: id, cid: done.cid, bytes: content.text };
    expect(content.text.split('\n').length).to.equal(6_000 + 2); // header, holders, final \n
  });

  it('completes when the mirror node answers 503 for a while mid-run', async () => {
    mirror.setFaults({ delayMs: 10 });
    const id = await request();
    await runningPast(id, 30);
    mirror.setFaults({ delayMs: 10, alwaysStatus: 503 });
    await sleep(400); // within the client's retries
    mirror.setFaults({});
    const done = await finished(id);
    expect(done.status, JSON.stringify(done)).to.equal('completed');
    await check(id, done);
  });

  it('resumes from the checkpoint when the mirror node disappears long enough to fail an attempt', async () => {
    mirror.setFaults({ delayMs: 10 });
    const id = await request();
    await runningPast(id, 50);
    await proxy.unplug();
    await until(async () => (await record(id)).error != null, { what: 'the first attempt to fail', timeoutMs: 20_000, stepMs: 50 });
    const pagesBefore = mirror.stats.balanceTimestamps.length;
    await proxy.plug();
    mirror.setFaults({});
    const done = await finished(id);
    expect(done.status, JSON.stringify(done)).to.equal('completed');
    expect(done.attempts).to.equal(2);
    // 60 pages in all; the second attempt read on from a checkpoint (every 20 pages) instead of page 1.
    expect(mirror.stats.balanceTimestamps.length - pagesBefore).to.be.below(60);
    await check(id, done);
  });

  it('fails cleanly when the mirror node stays down', async () => {
    mirror.setFaults({ delayMs: 10 });
    const id = await request();
    await runningPast(id, 30);
    mirror.setFaults({ alwaysStatus: 503 });
    const done = await finished(id);
    expect(done.status, JSON.stringify(done)).to.equal('failed');
    await check(id, done);
    mirror.setFaults({});
  });

  it('still serves the snapshot stored before the faults, and a new request completes the same', async () => {
    const before = await call(url, 'GET', `/v1/snapshots/${reference.snapshotId}/content`, { token: user });
    expect(before.text === reference.bytes).to.equal(true);
    const id = await request();
    const done = await finished(id);
    await check(id, done);
    const completed = outcomes.filter((o) => o.status === 'completed');
    report('mirror node failing mid-snapshot', {
      attempted: outcomes.length, acknowledged: completed.length, found: completed.filter((o) => o.sameBytes).length,
      lost: completed.filter((o) => !o.sameBytes).length, failedCleanly: outcomes.filter((o) => o.status === 'failed').length,
    });
  });
});
