// `make run` as a user runs it: no REDIS_URL, so it starts its own redis-server with AOF (here
// with REDIS_APPENDFSYNC=always, checked with CONFIG GET) under
// DATA_DIR, migrates, serves; GET /healthz answers 200; SIGTERM stops the server and the
// redis-server it started.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../testkit/clients.ts';
import { freePort } from '../testkit/free-port.ts';
import { startProcess } from '../testkit/processes.ts';

const startTimeoutMs = 90_000;

describe('make run', function () {
  this.timeout(startTimeoutMs + 30_000);

  it('serves /healthz with its own redis-server and stops both on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tally-make-run-'));
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, TALLY_NAMESPACE: 'makerun', LOG_LEVEL: 'info', REDIS_APPENDFSYNC: 'always' };
    for (const name of ['REDIS_URL', 'REDIS_CLUSTER_URLS', 'JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL', 'MONGODB_URL']) delete env[name];
    const child = startProcess({ command: 'make', args: ['--no-print-directory', 'run'], env });
    const exited = child.exited.then(({ code }) => code);
    try {
      await child.waitFor(/tally listening on/, startTimeoutMs);
      const output = child.output();
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).to.equal(200);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status, await ready.text()).to.equal(200);
      expect(output).to.match(/started redis-server \(AOF, appendfsync always\) on redis:\/\/127\.0\.0\.1:(\d+)/);
      const redisUrl = /on (redis:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!;
      const probe = await connect(redisUrl);
      expect(await probe.configGet('append*')).to.deep.include({ appendonly: 'yes', appendfsync: 'always' });
      probe.destroy();
      expect(existsSync(join(dataDir, 'redis'))).to.equal(true);
      expect(readFileSync(join(dataDir, 'dev-jwt-secret'), 'utf8')).to.match(/^[0-9a-f]{64}$/);

      process.kill(-child.pid, 'SIGTERM');
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
      expect(code, child.output().slice(-2000)).to.not.equal('timeout');
      const redisPort = Number(/on redis:\/\/127\.0\.0\.1:(\d+)/.exec(output)![1]);
      const stillUp = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => true, () => false);
      expect(stillUp).to.equal(false);
      const redisUp = await new Promise<boolean>((resolve) => {
        import('node:net').then(({ connect }) => {
          const socket = connect(redisPort, '127.0.0.1');
          socket.once('connect', () => { socket.destroy(); resolve(true); });
          socket.once('error', () => resolve(false));
        });
      });
      expect(redisUp, 'the redis-server make run started is still running').to.equal(false);
    } finally {
      await child.kill9();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
