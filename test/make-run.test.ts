// `make run` as a user runs it: no REDIS_URL, so it starts its own redis-server with AOF (here
// with REDIS_APPENDFSYNC=always, checked with CONFIG GET) under DATA_DIR, migrates, serves;
// GET /healthz answers 200; the CLI works with nothing exported (it reads DATA_DIR/tally.env);
// a second `make run` on the same DATA_DIR refuses; SIGTERM stops the server and the
// redis-server it started.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../testkit/clients.ts';
import { freePort } from '../testkit/free-port.ts';
import { repoRoot, startProcess } from '../testkit/processes.ts';

const startTimeoutMs = 90_000;
const unset = ['REDIS_URL', 'REDIS_CLUSTER_URLS', 'JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL', 'MONGODB_URL'];

/** The environment of a user's second terminal: nothing Tally-specific exported but DATA_DIR. */
function userShellEnv(dataDir: string): NodeJS.ProcessEnv {
  return { PATH: `${repoRoot}.tools/node_modules/.bin:${process.env.PATH}`, HOME: process.env.HOME, DATA_DIR: dataDir };
}

describe('make run', function () {
  this.timeout(startTimeoutMs + 30_000);

  it('serves /healthz with its own redis-server, lets the CLI in with nothing exported, refuses a second make run on its DATA_DIR, stops both on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tally-make-run-'));
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, TALLY_NAMESPACE: 'makerun', LOG_LEVEL: 'info', REDIS_APPENDFSYNC: 'always' };
    for (const name of unset) delete env[name];
    const child = startProcess({ command: 'make', args: ['--no-print-directory', 'run'], env });
    const exited = child.exited.then(({ code }) => code);
    try {
      await child.waitFor(/tally listening on/, startTimeoutMs);
      const output = child.output();
      const health = await fetch(`http://127.0.0.1:${port}/healthz`).catch((e) => { throw new Error(`healthz: ${e}; ${child.output().slice(-3000)}`); });
      expect(health.status).to.equal(200);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status, await ready.text()).to.equal(200);
      expect(output).to.match(/started redis-server \(AOF, appendfsync always\) on redis:\/\/127\.0\.0\.1:(\d+)/);
      const redisUrl = /on (redis:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!;
      const probe = await connect(redisUrl);
      expect(await probe.configGet('append*')).to.deep.include({ appendonly: 'yes', appendfsync: 'always' });
      probe.destroy();
      expect(existsSync(join(dataDir, 'redis'))).to.equal(true);
      const secret = readFileSync(join(dataDir, 'dev-jwt-secret'), 'utf8');
      expect(secret).to.match(/^[0-9a-f]{64}$/);
      expect(readFileSync(join(dataDir, 'tally.env'), 'utf8')).to.include(`REDIS_URL=${redisUrl}\nJWT_SECRET=${secret}\n`);
      expect(output).to.include(`export REDIS_URL=${redisUrl}`);

      // The CLI, with nothing exported, reaches this Redis and signs with the server's secret.
      // Asynchronously: a synchronous run would block this process for seconds, while the
      // server closes the idle keep-alive connection that fetch then reuses ("other side closed").
      const cli = async (...args: string[]) => (await promisify(execFile)('npx', ['tally', ...args], { cwd: repoRoot, env: userShellEnv(dataDir), encoding: 'utf8' })).stdout.trim();
      expect(await cli('init', 'MKRUN', '--name', 'Make run', '--decimals', '0', '--supply', '7', '--treasury', 'alice')).to.include('"created":true');
      const token = await cli('token', 'alice');
      const balance = await fetch(`http://127.0.0.1:${port}/v1/tokens/MKRUN/balances/alice`, { headers: { authorization: `Bearer ${token}` } });
      expect(balance.status).to.equal(200);
      expect(await balance.json()).to.deep.equal({ account: 'alice', balance: '7' });

      // The dashboard is served, and with the dev secret it mints dev tokens; the CLI prints a sign-in link.
      expect(output).to.include(`the dashboard: http://127.0.0.1:${port}/`);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).to.equal(200);
      expect(page.headers.get('content-security-policy')).to.include("script-src 'self'");
      const minted = await fetch(`http://127.0.0.1:${port}/dashboard/dev-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub: 'ops', admin: true }) });
      expect(minted.status).to.equal(200);
      const { token: devToken } = await minted.json() as { token: string };
      expect((await fetch(`http://127.0.0.1:${port}/v1/tokens`, { headers: { authorization: `Bearer ${devToken}` } })).status).to.equal(200);
      expect(await cli('dashboard', '--admin')).to.match(new RegExp(`^http://127\\.0\\.0\\.1:${port}/#token=[\\w-]+\\.[\\w-]+\\.[\\w-]+$`));

      // A second make run on the same data directory refuses instead of starting a second Redis.
      const second = startProcess({ command: 'make', args: ['--no-print-directory', 'run'], env: { ...env, PORT: String(await freePort()) } });
      const secondExit = await second.exited;
      expect(secondExit.code, second.output()).to.not.equal(0);
      expect(second.output()).to.match(/refusing to start a second redis-server on .*another `make run` \(pid \d+\) is using it/);
      expect(second.output()).to.not.match(/started redis-server/);

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
      expect(existsSync(join(dataDir, 'tally.env')), 'tally.env outlives make run').to.equal(false);
    } finally {
      await child.kill9();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
