import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
// The real server: `npm start` in a child process on a free port over the shared test Redis.
// Requests are in flight (bodies half sent) when SIGTERM arrives: the server stops accepting,
// every in-flight request still completes, and the process exits cleanly.
import { readFileSync } from 'node:fs';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createLedger } from '../../src/ledger/client.ts';
import { connectRedis, type RedisConnection } from '../../src/connections.ts';
import { freePort } from '../../testkit/free-port.ts';
import { startProcess, type ManagedProcess } from '../../testkit/processes.ts';
import { sharedRedisUrl } from '../../testkit/shared-redis.ts';
import { sleep, until } from '../../testkit/wait.ts';
import { makeToken, mint, testSecret } from './support.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const startTimeoutMs = 20_000;
const slowRequests = 10;
const fastRequests = 40;

interface Pending { req: ClientRequest; response: Promise<{ status: number; connection: string | undefined; body: string }>; rest: string }

/** A POST whose body is sent in two parts: `first` now, the rest when the caller says. */
function openPost(port: number, path: string, token: string, body: string, firstBytes: number): Promise<Pending> {
  return new Promise((resolveOpen, rejectOpen) => {
    const req = request({
      host: '127.0.0.1', port, method: 'POST', path, agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    const response = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
      req.on('response', (res: IncomingMessage) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
      });
      req.on('error', reject);
    });
    response.catch(() => {});
    req.once('error', rejectOpen);
    req.once('socket', (socket) => socket.once('connect', () => {
      req.write(body.slice(0, firstBytes), () => resolveOpen({ req, response, rest: body.slice(firstBytes) }));
    }));
  });
}

describe('npm start and graceful shutdown', function () {
  this.timeout(60_000);
  let child: ManagedProcess | undefined;
  let redis: RedisConnection;

  before(async () => { redis = await connectRedis({ url: sharedRedisUrl() }); });
  after(async () => {
    await child?.kill9();
    redis.destroy();
  });

  it('finishes every in-flight request after SIGTERM, refuses new ones, and exits 0', async () => {
    const ledger = createLedger(redis);
    const symbol = await makeToken(ledger, { supply: '1000000', treasury: 'alice' });
    const port = await freePort();
    // Its own process group: the signal goes to npm, its shell and node alike, as from a
    // terminal or a process supervisor.
    child = startProcess({
      command: 'npm', args: ['start'],
      env: {
        ...process.env, REDIS_URL: sharedRedisUrl(), REDIS_CLUSTER_URLS: '', PORT: String(port), HOST: '127.0.0.1',
        JWT_SECRET: testSecret, JWT_PUBLIC_KEY: '', JWT_JWKS_URL: '', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '15000',
        DATA_DIR: mkdtempSync(join(tmpdir(), 'tally-start-')), TALLY_NAMESPACE: 'starttest',
      },
    });
    const closed = child.exited;
    await child.waitFor(new RegExp(`tally listening on http://127\\.0\\.0\\.1:${port}`), startTimeoutMs);

    const alice = mint('alice');
    const body = JSON.stringify({ to: 'bob', amount: '3' });
    const path = `/v1/tokens/${symbol}/transfers`;
    // Slow requests: headers and half the body are on the server when SIGTERM arrives.
    const slow = await Promise.all(Array.from({ length: slowRequests }, () => openPost(port, path, alice, body, 10)));
    // Fast requests: fully sent just before SIGTERM; many are still being processed.
    const fast = await Promise.all(Array.from({ length: fastRequests }, () => openPost(port, path, alice, body, body.length)));
    for (const f of fast) f.req.end();
    await sleep(100);

    process.kill(-child.pid, 'SIGTERM');
    await child.waitFor(/no longer accepting connections/, 5_000);

    // The listener is closed: a new connection is refused.
    const refused = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, () => resolve('answered'));
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      req.end();
    });
    expect(refused).to.equal('ECONNREFUSED');

    for (const s of slow) s.req.end(s.rest);
    const replies = await Promise.all([...slow, ...fast].map((p) => p.response));
    expect(replies.map((r) => r.status)).to.deep.equal(Array(slowRequests + fastRequests).fill(201));
    for (const r of replies.slice(0, slowRequests)) expect(r.connection).to.equal('close');

    const exit = await closed;
    expect(child.output()).to.match(/"forced":false,"msg":"stopped"/);
    // npm exits 0 when the start script execs node; with a shell in between npm receives the
    // SIGTERM itself and dies by it (node has still drained and exited 0, as logged above).
    const startScript = (JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { scripts: { start: string } }).scripts.start;
    if (startScript.startsWith('exec ')) expect(exit).to.deep.equal({ code: 0, signal: null });
    else expect(exit.code === 0 || exit.signal === 'SIGTERM', JSON.stringify(exit)).to.equal(true);
    expect(await ledger.balance(symbol, 'bob')).to.equal(String(3 * (slowRequests + fastRequests)));
  });
});
