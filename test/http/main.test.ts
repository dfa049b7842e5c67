// start(config) in-process, as `npm start` runs it (ledger, snapshot side, Socket.IO): it serves,
// and its stop is prompt, idempotent and complete even with idle keep-alive connections open.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, get as httpGet } from 'node:http';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { start, type Started } from '../../src/main.ts';
import { connectSocket } from '../../testkit/clients.ts';
import { sharedRedisUrl } from '../../testkit/shared-redis.ts';
import { until } from '../../testkit/wait.ts';
import { mint, testSecret } from './support.ts';

describe('start() and stop()', function () {
  this.timeout(60_000);

  /** start() on a fresh data directory; `run` gets it, then it is stopped and the directory removed. */
  async function withStarted(namespace: string, shutdownTimeoutMs: number, run: (started: Started) => Promise<void>): Promise<void> {
    const dataDir = mkdtempSync(join(tmpdir(), 'tally-main-'));
    const config = loadConfig({
      REDIS_URL: sharedRedisUrl(), JWT_SECRET: testSecret, PORT: '0', HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0',
      SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs), DATA_DIR: dataDir, TALLY_NAMESPACE: namespace, JOB_POLL_MS: '200',
    });
    const started = await start(config, { logger: createLogger('silent') });
    try {
      await run(started);
    } finally {
      await started.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  it('serves REST and snapshots, and stops promptly with idle keep-alive connections open', async () => {
    await withStarted('main-test', 5000, async (started) => {
      expect(started.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      // fetch keeps these connections alive (idle) after the answers.
      const headers = { authorization: `Bearer ${mint('alice')}` };
      const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => fetch(`${started.url}${i % 2 ? '/v1/tokens' : '/v1/snapshots'}`, { headers })));
      for (const reply of replies) expect(reply.status).to.equal(200);
      const ready = await (await fetch(`${started.url}/readyz`)).json() as { checks: Record<string, { ok: boolean }> };
      expect(Object.keys(ready.checks)).to.include.members(['redis', 'store', 'jobs', 'realtime']);
      const t0 = Date.now();
      expect(await started.stop()).to.deep.equal({ forced: false });
      expect(Date.now() - t0).to.be.below(4_000);
      expect(await started.stop()).to.deep.equal({ forced: false }); // idempotent
      expect(started.server!.listening).to.equal(false);
      expect(started.redis.isOpen).to.equal(false);
    });
  });

  it('stops promptly while a Socket.IO client holds a WebSocket open, upgraded from polling (no request to wait for)', async () => {
    await withStarted('main-test-ws', 8000, async (started) => {
      // As browsers connect: long-polling first (requests Socket.IO's engine answers itself), then the upgrade.
      const socket = connectSocket(started.url!, '/snapshots', { accessToken: mint('alice') }, { transports: ['polling', 'websocket'] });
      try {
        await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
        await until(() => socket.io.engine.transport.name === 'websocket', { what: 'the upgrade to a WebSocket' });
        const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
        const t0 = Date.now();
        expect(await started.stop()).to.deep.equal({ forced: false });
        expect(Date.now() - t0).to.be.below(3_000); // not the 8 s deadline
        expect(await closed).to.equal('transport close'); // a cut connection, which clients reconnect after
      } finally {
        socket.close();
      }
    });
  });

  it('stops promptly after Socket.IO polling requests on a keep-alive connection (the engine answers them itself)', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await withStarted('main-test-poll', 8000, async (started) => {
      // An engine.io handshake over polling: answered at once, the connection then stays open, idle.
      const handshake = await new Promise<string>((resolve, reject) => {
        httpGet(`${started.url}/socket.io/?EIO=4&transport=polling`, { agent }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => { body += chunk; });
          res.on('end', () => resolve(body));
        }).on('error', reject);
      });
      expect(handshake).to.match(/^0\{"sid":/);
      const t0 = Date.now();
      expect(await started.stop()).to.deep.equal({ forced: false });
      expect(Date.now() - t0).to.be.below(3_000); // not the 8 s deadline
    }).finally(() => agent.destroy());
  });
});
