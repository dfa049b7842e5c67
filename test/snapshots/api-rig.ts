// The whole snapshot service in this process for end-to-end suites: start() with Agenda on Redis,
// Helia on disk and the Redis metadata store, real HTTP on loopback, a local mirror node; plus
// `api` (fetch with a JWT), `waitForStatus` and `tally` (the CLI as a child process on the same data).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { start, type Started } from '../../src/main.ts';
import { type FakeMirrorNode, type StartMirrorNodeOptions, startMirrorNode } from '../../testkit/mirror-node.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep } from '../../testkit/wait.ts';
import { mint, testSecret } from '../http/support.ts';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface ApiAnswer { status: number; text: string; body: any; headers: Headers }

export interface SnapshotApi {
  node: FakeMirrorNode;
  app: Started;
  env: Record<string, string>;
  api(path: string, init?: RequestInit & { token?: string }): Promise<ApiAnswer>;
  waitForStatus(snapshotId: string, statuses?: string[], timeoutMs?: number): Promise<any>;
  /** Requests a snapshot with `body` and waits for it to complete; the record. */
  snapshot(body: Record<string, unknown>): Promise<any>;
  tally(args: string[]): Promise<{ stdout: string; stderr: string; code: number }>;
  close(): Promise<void>;
}

/** Polls GET /v1/snapshots/:id until its status is one of `statuses`; the record. Throws on timeout. */
export async function waitForRecord(api: (path: string) => Promise<{ body: any }>, snapshotId: string, statuses: string[], timeoutMs = 60_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api(`/v1/snapshots/${snapshotId}`);
    if (statuses.includes(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`snapshot ${snapshotId} stayed ${body.status}`);
    await sleep(100);
  }
}

export async function startSnapshotApi(mirror: StartMirrorNodeOptions, env: Record<string, string> = {}): Promise<SnapshotApi> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-api-'));
  const node = await startMirrorNode(mirror);
  const fullEnv = {
    REDIS_URL: sharedRedisUrl(), JWT_SECRET: testSecret, PORT: '0', HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0',
    DATA_DIR: dataDir, MIRROR_NODE_URL: node.url, HEDERA_NETWORK: 'testnet', MIRROR_RPS: '1000',
    JOB_POLL_MS: '100', JOB_LOCK_LIFETIME_MS: '5000', SNAPSHOT_BACKOFF_MS: '50', SCHEDULE_MIN_INTERVAL_MS: '1000',
    TALLY_NAMESPACE: `api${uniqueSymbol().toLowerCase()}`, LOG_LEVEL: 'silent', MIRROR_TIMEOUT_MS: '2000', MIRROR_ATTEMPTS: '2', MIRROR_RETRY_BASE_MS: '20',
    ...env,
  };
  const app = await start(loadConfig(fullEnv), { logger: createLogger('silent') });
  const alice = mint('alice');
  const api = async (path: string, init: RequestInit & { token?: string } = {}): Promise<ApiAnswer> => {
    const response = await fetch(`${app.url}${path}`, { ...init, headers: { authorization: `Bearer ${init.token ?? alice}`, 'content-type': 'application/json', ...init.headers } });
    const text = await response.text();
    return { status: response.status, text, body: text && response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined, headers: response.headers };
  };
  const waitForStatus = (snapshotId: string, statuses = ['completed', 'failed'], timeoutMs = 60_000) => waitForRecord(api, snapshotId, statuses, timeoutMs);
  return {
    node, app, env: fullEnv, api, waitForStatus,
    async snapshot(body) {
      const created = await api('/v1/snapshots', { method: 'POST', body: JSON.stringify(body) });
      if (created.status !== 202) throw new Error(`POST /v1/snapshots answered ${created.status} ${created.text}`);
      const done = await waitForStatus(created.body.snapshotId);
      if (done.status !== 'completed') throw new Error(`snapshot ${done.snapshotId} failed: ${JSON.stringify(done.error)}`);
      return done;
    },
    async tally(args) {
      try {
        const { stdout, stderr } = await run(process.execPath, ['bin/tally.js', ...args], { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', ...fullEnv }, maxBuffer: 64 * 1024 * 1024 });
        return { stdout, stderr, code: 0 };
      } catch (error) {
        const e = error as { stdout: string; stderr: string; code: number };
        return { stdout: e.stdout, stderr: e.stderr, code: e.code };
      }
    },
    async close() {
      await app.stop();
      await node.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
