// Snapshots end to end in one process: start() with the snapshot extension (Agenda on Redis,
// Helia on disk, the Redis metadata store), real HTTP on loopback, the local mirror node. Also
// the CLI: `tally snapshot` and `tally cat` as child processes against the same data.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { start, type Started } from '../../src/main.ts';
import { type FakeMirrorNode, generateHolders, startMirrorNode } from '../../testkit/mirror-node.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep } from '../../testkit/wait.ts';
import { mint, testSecret } from '../http/support.ts';
import { withChecksum } from '../../src/snapshots/hedera-ids.ts';
import { CID } from 'multiformats/cid';
import { waitForRecord } from './api-rig.ts';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tokenId = '0.0.777001';
const failingTokenId = '0.0.777002';

describe('snapshots through the API and the worker', function () {
  this.timeout(120_000);
  let node: FakeMirrorNode;
  let broken: FakeMirrorNode;
  let dataDir: string;
  let app: Started;
  let env: Record<string, string>;
  const holders = generateHolders({ count: 2_500, seed: 3 });
  const alice = mint('alice');
  const admin = mint('root', { roles: ['admin'] });

  const api = async (path: string, init: RequestInit & { token?: string } = {}) => {
    const response = await fetch(`${app.url}${path}`, { ...init, headers: { authorization: `Bearer ${init.token ?? alice}`, 'content-type': 'application/json', ...init.headers } });
    const text = await response.text();
    return { status: response.status, text, body: text && response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined, headers: response.headers };
  };

  const waitForStatus = (snapshotId: string, statuses: string[], timeoutMs = 60_000) => waitForRecord(api, snapshotId, statuses, timeoutMs);

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tally-service-'));
    node = await startMirrorNode({ tokens: [
      { tokenId, name: 'Service Token', symbol: 'SVC', decimals: 2, totalSupply: holders.reduce((s, h) => s + h.balance, 0n), holders },
      { tokenId: failingTokenId, name: 'Fails', symbol: 'F', decimals: 0, totalSupply: 10n, holders: [{ account: '0.0.9', balance: 10n }] },
    ] });
    broken = await startMirrorNode({ tokens: [], faults: { alwaysStatus: 503 } });
    env = {
      REDIS_URL: sharedRedisUrl(), JWT_SECRET: testSecret, PORT: '0', HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0',
      DATA_DIR: dataDir, MIRROR_NODE_URL: node.url, HEDERA_NETWORK: 'testnet', MIRROR_RPS: '1000',
      JOB_POLL_MS: '100', JOB_LOCK_LIFETIME_MS: '5000', SNAPSHOT_BACKOFF_MS: '50', SCHEDULE_MIN_INTERVAL_MS: '1000',
      TALLY_NAMESPACE: `svc${uniqueSymbol().toLowerCase()}`, LOG_LEVEL: 'silent', MIRROR_TIMEOUT_MS: '2000', MIRROR_ATTEMPTS: '2', MIRROR_RETRY_BASE_MS: '20',
    };
    app = await start(loadConfig(env), { logger: createLogger('silent') });
  });
  after(async () => {
    await app?.stop();
    await node?.close(); await broken?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('takes a request, runs the job, and serves the content as NDJSON and CSV', async () => {
    const created = await api('/v1/snapshots', { method: 'POST', body: JSON.stringify({ tokenId }) });
    expect(created.status).to.equal(202);
    expect(created.body).to.have.keys('snapshotId', 'jobId');
    const done = await waitForStatus(created.body.snapshotId, ['completed', 'failed']);
    expect(done).to.include({ status: 'completed', holders: 2_500, tokenId, requestedBy: 'alice', progress: 100, attempts: 1 });
    const content = await api(`/v1/snapshots/${done.snapshotId}/content`);
    expect(content.status).to.equal(200);
    expect(content.headers.get('content-type')).to.match(/^application\/x-ndjson/);
    const lines = content.text.trimEnd().split('\n');
    expect(lines).to.have.length(2_501);
    expect(JSON.parse(lines[0]!)).to.include({ tokenId, symbol: 'SVC', network: 'testnet' });
    const csv = await api(`/v1/snapshots/${done.snapshotId}/content`, { headers: { accept: 'text/csv' } });
    expect(csv.headers.get('content-type')).to.match(/^text\/csv/);
    const rows = csv.text.trimEnd().split('\n');
    expect(rows[0]).to.equal('account,balance');
    expect(rows[1]).to.equal(`${JSON.parse(lines[1]!).account},${JSON.parse(lines[1]!).balance}`);
    expect(rows).to.have.length(2_501);
    // A CAR file of the same DAG: its header names the snapshot's CID as the root, and it holds the bytes.
    const carReply = await fetch(`${app.url}/v1/snapshots/${done.snapshotId}/content`, { headers: { authorization: `Bearer ${alice}`, accept: 'application/vnd.ipld.car' } });
    expect(carReply.headers.get('content-type')).to.equal('application/vnd.ipld.car');
    const carBytes = Buffer.from(await carReply.arrayBuffer());
    expect(carBytes.length).to.be.greaterThan(Buffer.byteLength(content.text));
    expect(carBytes.includes(Buffer.from(lines[1]!))).to.equal(true);
    expect(carBytes.subarray(0, 100).includes(Buffer.concat([Buffer.from([0x00]), Buffer.from(CID.parse(done.cid).bytes)]))).to.equal(true);

    const listed = await api(`/v1/snapshots?tokenId=${tokenId}&status=completed`);
    expect(listed.body.snapshots.map((s: { snapshotId: string }) => s.snapshotId)).to.include(done.snapshotId);
  });

  it('rejects a malformed id and a bad checksum with 400 and no record', async () => {
    const before = (await api('/v1/snapshots?limit=100')).body.snapshots.length;
    for (const bad of ['0.0.abc', '1.2', '0.0.1-zzzzz', '0.0.01']) {
      const reply = await api('/v1/snapshots', { method: 'POST', body: JSON.stringify({ tokenId: bad }) });
      expect(reply.status, bad).to.equal(400);
      expect(reply.body.error.code).to.be.oneOf(['INVALID_ENTITY_ID', 'INVALID_CHECKSUM']);
    }
    const mainnetChecksum = withChecksum('0.0.1234', 'mainnet');
    const reply = await api('/v1/snapshots', { method: 'POST', body: JSON.stringify({ tokenId: mainnetChecksum }) });
    expect(reply.body.error.code).to.equal('INVALID_CHECKSUM');
    expect((await api('/v1/snapshots?limit=100')).body.snapshots.length).to.equal(before);
    const ok = await api('/v1/snapshots', { method: 'POST', body: JSON.stringify({ tokenId: withChecksum(tokenId, 'testnet') }) });
    expect(ok.status).to.equal(202);
    await waitForStatus(ok.body.snapshotId, ['completed']);
  });

  it('records an unknown token as failed after one attempt', async () => {
    const created = await api('/v1/snapshots', { method: 'POST', body: JSON.stringify({ tokenId: '0.0.31337' }) });
    const failed = await waitForStatus(created.body.snapshotId, ['failed', 'completed']);
    expect(failed).to.include({ status: 'failed', attempts: 1 });
    expect(failed.error.code).to.equal('HEDERA_TOKEN_NOT_FOUND');
  });

  it('retries a mirror node that keeps failing 3 times, then records the failure', async () => {
    node.setFaults({ alwaysStatus: 503 });
    try {
      const created = await api('/v1/snapshots', { method: 'POST', body: JSON.stringify({ tokenId: failingTokenId }) });
      const failed = await waitForStatus(created.body.snapshotId, ['failed', 'completed']);
      expect(failed).to.include({ status: 'failed', attempts: 3 });
      expect(failed.error.code).to.equal('MIRROR_UNAVAILABLE');
      expect(failed.error.message).to.be.a('string').and.not.empty;
    } finally {
      node.setFaults({});
    }
  });

  it('records garbage from the mirror node as a clear failure', async () => {
    node.setFaults({ garbageEveryNth: 1 });
    try {
      const created = await api('/v1/snapshots', { method: 'POST', body: JSON.stringify({ tokenId: failingTokenId }) });
      const failed = await waitForStatus(created.body.snapshotId, ['failed', 'completed']);
      expect(failed.status).to.equal('failed');
      expect(failed.error.code).to.equal('MIRROR_PROTOCOL');
    } finally {
      node.setFaults({});
    }
  });

  it('runs a schedule on time, admin only', async () => {
    expect((await api('/v1/snapshot-schedules', { method: 'POST', body: JSON.stringify({ tokenId, every: '1 second' }) })).status).to.equal(403);
    expect((await api('/v1/snapshot-schedules', { method: 'POST', token: admin, body: JSON.stringify({ tokenId, every: 'whenever' }) })).body.error.code).to.equal('INVALID_SCHEDULE');
    const created = await api('/v1/snapshot-schedules', { method: 'POST', token: admin, body: JSON.stringify({ tokenId: failingTokenId, every: '2 seconds' }) });
    expect(created.status).to.equal(201);
    const scheduleId = created.body.id;
    const t0 = Date.now();
    let runs: { scheduleId: string; createdAt: string }[] = [];
    while (runs.length < 3 && Date.now() - t0 < 20_000) {
      await sleep(250);
      runs = (await api(`/v1/snapshots?tokenId=${failingTokenId}&limit=100`)).body.snapshots.filter((s: { scheduleId: string }) => s.scheduleId === scheduleId);
    }
    expect(runs.length).to.be.at.least(3);
    const times = runs.map((r) => Date.parse(r.createdAt)).sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).to.be.within(1_000, 4_000);
    expect((await api(`/v1/snapshot-schedules/${scheduleId}`, { method: 'DELETE', token: admin })).status).to.equal(204);
    expect((await api(`/v1/snapshot-schedules/${scheduleId}`, { token: admin })).status).to.equal(404);
  });

  it('tally snapshot prints the JSON line and tally cat gives the bytes the content route serves', async () => {
    const cliEnv = { ...process.env, ...env, MIRROR_RPS: '100' };
    const { stdout, stderr } = await run(process.execPath, ['bin/tally.js', 'snapshot', tokenId], { cwd: repoRoot, env: cliEnv });
    const line = JSON.parse(stdout.trim());
    expect(Object.keys(line)).to.deep.equal(['snapshotId', 'tokenId', 'cid', 'holders', 'totalBalance', 'consensusTimestamp']);
    expect(line).to.include({ tokenId, holders: 2_500 });
    expect(stderr).to.include('100%');
    const { stdout: bytes } = await run(process.execPath, ['bin/tally.js', 'cat', line.cid], { cwd: repoRoot, env: cliEnv, maxBuffer: 64 * 1024 * 1024 });
    const served = await api(`/v1/snapshots/${line.snapshotId}/content`);
    expect(served.status).to.equal(200);
    expect(bytes).to.equal(served.text);
    const car = await run(process.execPath, ['bin/tally.js', 'car', line.cid], { cwd: repoRoot, env: cliEnv, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
    expect(car.stdout.length).to.be.greaterThan(bytes.length);
  });

  it('tally snapshot shows holders, pages, rate and ETA, one line every few seconds without a terminal', async () => {
    // 26 pages at 4 requests/s: about 7 s, so at least one line besides the first and the last.
    const cliEnv = { ...process.env, ...env, MIRROR_RPS: '4' };
    const startedMs = performance.now();
    const { stderr } = await run(process.execPath, ['bin/tally.js', 'snapshot', tokenId], { cwd: repoRoot, env: cliEnv });
    const elapsedS = (performance.now() - startedMs) / 1000;
    const lines = stderr.split('\n').filter((l) => l.startsWith('snapshot '));
    const pattern = /^snapshot 0\.0\.777001 \[[^\]]*\] (\d+)% \| (\d+) holders \| (\d+) pages \| (\d+) holders\/s \| ETA (\S+)$/;
    for (const line of lines) expect(line).to.match(pattern);
    const parsed = lines.map((l) => pattern.exec(l)!.slice(1));
    expect(parsed.at(-1)!.slice(0, 3)).to.deep.equal(['100', '2500', '26']);
    expect(Number(parsed.at(-1)![3])).to.be.greaterThan(0);
    const middle = parsed.slice(1, -1);
    expect(middle.length).to.be.at.least(1);
    expect(middle.some(([percent, holdersSoFar, pagesSoFar, , eta]) => Number(percent) > 0 && Number(holdersSoFar) > 0 && Number(pagesSoFar) > 0 && /^\d+(s|m\d\ds)$/.test(eta!))).to.equal(true);
    // One line per 5 s, plus the first and the last: not one per page.
    expect(lines.length).to.be.at.most(Math.ceil(elapsedS / 5) + 2);
  });

  it('tally snapshot with MIRROR_RPS=off reads the token; a Helia store that cannot open fails it with that error, recorded', async () => {
    const unlimited = await run(process.execPath, ['bin/tally.js', 'snapshot', tokenId], { cwd: repoRoot, env: { ...process.env, ...env, MIRROR_RPS: 'off' } });
    expect(JSON.parse(unlimited.stdout.trim())).to.include({ tokenId, holders: 2_500 });
    const brokenDir = mkdtempSync(join(tmpdir(), 'tally-cli-ipfs-'));
    try {
      writeFileSync(join(brokenDir, 'ipfs'), 'a file where the store directory should be');
      let failure: { code?: number; stderr?: string } = {};
      try {
        await run(process.execPath, ['bin/tally.js', 'snapshot', tokenId], { cwd: repoRoot, env: { ...process.env, ...env, DATA_DIR: brokenDir } });
      } catch (error) { failure = error as typeof failure; }
      expect(failure.code).to.be.greaterThan(0);
      expect(failure.stderr).to.match(/ENOTDIR|not a directory/i);
      const failed = (await api(`/v1/snapshots?tokenId=${tokenId}&status=failed&limit=100`)).body.snapshots;
      expect(failed, 'the one failed snapshot of this token').to.have.length(1);
      expect(failed[0].error.message).to.match(/ENOTDIR|not a directory/i);
    } finally {
      rmSync(brokenDir, { recursive: true, force: true });
    }
  });

  it('tally snapshot fails clearly for an unknown token and a malformed id', async () => {
    const cliEnv = { ...process.env, ...env };
    for (const [id, pattern] of [['0.0.424', /not found/], ['0.0.x', /HIP-15|entity id|token id/i]] as const) {
      let failure: { code?: number; stderr?: string } = {};
      try { await run(process.execPath, ['bin/tally.js', 'snapshot', id], { cwd: repoRoot, env: cliEnv }); } catch (error) { failure = error as typeof failure; }
      expect(failure.code, id).to.be.greaterThan(0);
      expect(failure.stderr).to.match(pattern);
    }
  });
});
