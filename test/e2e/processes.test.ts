// Several real processes on one Redis: two API instances (ROLES=api) and workers (ROLES=worker).
// - Socket.IO: a client on the instance that did not take the request receives the snapshot's
//   events from the worker, each once and in order; a failing snapshot ends in one
//   snapshots_failed.
// - Resuming: a worker SIGKILLed mid-snapshot; a new worker finishes the job from its checkpoint
//   with the same CID as an uninterrupted run.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { type FakeMirrorNode, generateHolders, startMirrorNode } from '../../testkit/mirror-node.ts';
import { connectSocket } from '../../testkit/clients.ts';
import { freePort } from '../../testkit/free-port.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { spawnTally, type TallyProcess } from '../../testkit/processes.ts';
import { sleep } from '../../testkit/wait.ts';
import { mint, testSecret } from '../http/support.ts';

const tokenId = '0.0.880001';
const lockLifetimeMs = 2_000;

interface SnapshotEvent { type: string; payload: { snapshotId: string; progress?: number; cid?: string; error?: string; status: string } }

describe('multi-process deployment', function () {
  this.timeout(180_000);
  let node: FakeMirrorNode;
  let dataDir: string;
  let env: Record<string, string>;
  const processes: TallyProcess[] = [];
  const workers: TallyProcess[] = [];
  const sockets: Socket[] = [];
  const holders = generateHolders({ count: 6_000, seed: 21 });
  const alice = mint('alice', { expiresInSeconds: 600 });

  async function tally(role: 'api' | 'worker'): Promise<{ proc: TallyProcess; url: string }> {
    const port = role === 'api' ? await freePort() : 0;
    const proc = spawnTally({ ...env, ROLES: role, PORT: String(port) });
    processes.push(proc);
    if (role === 'worker') workers.push(proc);
    if (role === 'api') await proc.waitFor(/tally listening on/);
    else await proc.waitFor(/tally started/);
    return { proc, url: `http://127.0.0.1:${port}` };
  }

  async function post(url: string, body: unknown): Promise<{ snapshotId: string; jobId: string }> {
    const response = await fetch(`${url}/v1/snapshots`, { method: 'POST', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status).to.equal(202);
    return await response.json() as { snapshotId: string; jobId: string };
  }

  async function record(url: string, snapshotId: string): Promise<Record<string, any>> {
    const response = await fetch(`${url}/v1/snapshots/${snapshotId}`, { headers: { authorization: `Bearer ${alice}` } });
    return await response.json() as Record<string, any>;
  }

  async function waitForRecord(url: string, snapshotId: string, done: (r: Record<string, any>) => boolean, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await record(url, snapshotId);
      if (done(r)) return r;
      if (Date.now() > deadline) throw new Error(`snapshot ${snapshotId} did not get there: ${JSON.stringify(r)}`);
      await sleep(50);
    }
  }

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tally-e2e-'));
    node = await startMirrorNode({ tokens: [
      { tokenId, name: 'Multi', symbol: 'MULTI', decimals: 0, totalSupply: holders.reduce((s, h) => s + h.balance, 0n), holders },
      { tokenId: '0.0.880002', name: 'Other', symbol: 'O', decimals: 0, totalSupply: 5n, holders: [{ account: '0.0.3', balance: 5n }] },
    ] });
    env = {
      REDIS_URL: sharedRedisUrl(), JWT_SECRET: testSecret, HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0',
      DATA_DIR: dataDir, MIRROR_NODE_URL: node.url, HEDERA_NETWORK: 'testnet', MIRROR_RPS: '1000',
      JOB_POLL_MS: '200', JOB_LOCK_LIFETIME_MS: String(lockLifetimeMs), SNAPSHOT_BACKOFF_MS: '100',
      MIRROR_ATTEMPTS: '2', MIRROR_RETRY_BASE_MS: '20', SHUTDOWN_TIMEOUT_MS: '5000',
      TALLY_NAMESPACE: `e2e${uniqueSymbol().toLowerCase()}`,
    };
  });
  afterEach(() => { for (const s of sockets.splice(0)) s.disconnect(); });
  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await node?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers a worker\'s events to a client on the other API instance, once each and in order', async () => {
    const [a, b] = [await tally('api'), await tally('api')];
    await tally('worker');
    const socket = connectSocket(b.url, '/snapshots', { accessToken: alice }, { forceNew: false });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
    const events: SnapshotEvent[] = [];
    socket.on('snapshots_events', (e: SnapshotEvent) => events.push(e));

    node.setFaults({ delayMs: 5 });
    const { snapshotId, jobId } = await post(a.url, { tokenId });
    const done = await waitForRecord(a.url, snapshotId, (r) => r.status === 'completed' || r.status === 'failed');
    expect(done.status).to.equal('completed');
    await sleep(500); // any duplicate would arrive by now
    const mine = events.filter((e) => e.payload.snapshotId === snapshotId);
    const types = mine.map((e) => e.type);
    expect(types[0]).to.equal('snapshots_active');
    expect(types.at(-1)).to.equal('snapshots_completed');
    expect(types.filter((t) => t === 'snapshots_active')).to.have.length(1);
    expect(types.filter((t) => t === 'snapshots_completed')).to.have.length(1);
    const progress = mine.filter((e) => e.type === 'snapshots_progress').map((e) => e.payload.progress!);
    expect(progress.length).to.be.greaterThan(3);
    expect(new Set(progress).size).to.equal(progress.length); // each once
    expect(progress).to.deep.equal([...progress].sort((x, y) => x - y)); // never backwards
    // Each progress event says how many holders are written so far: more and more, never all before completion.
    const holders = mine.filter((e) => e.type === 'snapshots_progress').map((e) => (e.payload as { holders?: number }).holders!);
    expect(holders[0]).to.be.greaterThan(0);
    expect(holders).to.deep.equal([...holders].sort((x, y) => x - y));
    expect(holders.at(-1)).to.be.at.most(done.holders);
    expect(mine[0]!.payload).to.deep.equal({ jobId, jobName: 'snapshot', snapshotId, status: 'activated', progress: 0 });
    expect(mine.at(-1)!.payload).to.deep.equal({ jobId, jobName: 'snapshot', snapshotId, status: 'completed', progress: 100, cid: done.cid });

    // A failing snapshot: one snapshots_failed with the error.
    const failing = await post(a.url, { tokenId: '0.0.404404' });
    await waitForRecord(a.url, failing.snapshotId, (r) => r.status === 'failed');
    await sleep(500);
    const failed = events.filter((e) => e.payload.snapshotId === failing.snapshotId && e.type === 'snapshots_failed');
    expect(failed).to.have.length(1);
    expect(failed[0]!.payload.status).to.equal('error');
    expect(failed[0]!.payload.error).to.match(/not found/);
  });

  it('resumes a snapshot whose worker was SIGKILLed, to the same CID', async () => {
    // Ours must be the only worker: stop the ones earlier tests started.
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    const apiUrl = (await tally('api')).url;

    node.setFaults({});
    const reference = await post(apiUrl, { tokenId });
    const uninterrupted = await (async () => {
      const worker = await tally('worker');
      const r = await waitForRecord(apiUrl, reference.snapshotId, (x) => x.status === 'completed');
      await worker.proc.stop();
      return r;
    })();

    node.setFaults({ delayMs: 15 }); // slow enough to kill mid-way
    node.resetStats();
    const victim = await tally('worker');
    const { snapshotId } = await post(apiUrl, { tokenId });
    // Past 60 % (about 36 of 60 pages) at least one checkpoint (every 20 pages) is behind us.
    await waitForRecord(apiUrl, snapshotId, (r) => r.status === 'running' && r.progress >= 60, 60_000);
    await victim.proc.kill9();
    const atKill = node.stats.balanceTimestamps.length;
    const killedAt = await record(apiUrl, snapshotId);
    expect(killedAt.status).to.equal('running');

    node.setFaults({});
    await tally('worker');
    const resumed = await waitForRecord(apiUrl, snapshotId, (r) => r.status === 'completed' || r.status === 'failed', 60_000);
    expect(resumed.status).to.equal('completed');
    expect(resumed.cid).to.equal(uninterrupted.cid);
    expect(resumed.holders).to.equal(6_000);
    // The new worker read on from the checkpoint instead of starting over (60 pages in all).
    expect(node.stats.balanceTimestamps.length - atKill).to.be.below(45);
  });
});
