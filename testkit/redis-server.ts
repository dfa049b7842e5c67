// Starts real redis-server processes (standalone or a cluster) on free loopback ports for tests
// and benchmarks, and stops them afterwards. Nothing here is mocked: every server is a child
// process with its own data directory under the OS temp dir.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { connect } from './clients.ts';
import { freePort } from './free-port.ts';
import { sleep, until } from './wait.ts';

const startTimeoutMs = 10_000;
const stopTimeoutMs = 5_000;
const running = new Set<ChildProcess>();

export interface RedisServerOptions {
  /** AOF with the given fsync policy; no persistence at all when unset. */
  appendfsync?: 'always' | 'everysec' | 'no';
  cluster?: boolean;
  port?: number;
  dir?: string;
  extraArgs?: string[];
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** SIGKILL, no shutdown: what a crash looks like. */
  kill9(): Promise<void>;
  /** Start again on the same port and data directory (after kill9 or stop). */
  restart(): Promise<void>;
  /** SIGSTOP: the server keeps its connections open and answers nothing (a hung host). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  stop(): Promise<void>;
}

function serverArgs(port: number, dir: string, options: RedisServerOptions): string[] {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--daemonize', 'no', '--logfile', join(dir, 'redis.log'),
    '--protected-mode', 'yes'];
  if (options.appendfsync) args.push('--appendonly', 'yes', '--appendfsync', options.appendfsync);
  else args.push('--appendonly', 'no');
  if (options.cluster) args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '2000');
  return args.concat(options.extraArgs ?? []);
}

async function waitUntilPingable(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server on ${port} exited with ${child.exitCode}`);
    const client = createClient({ socket: { port, host: '127.0.0.1', reconnectStrategy: false, connectTimeout: 500 } });
    client.on('error', () => {});
    try {
      await client.connect();
      // A restarted server answers LOADING while it replays the AOF.
      const pong = await client.ping();
      client.destroy();
      if (pong === 'PONG') return;
    } catch {
      client.destroy();
    }
    await sleep(50);
  }
  throw new Error(`redis-server on ${port} did not answer within ${startTimeoutMs} ms`);
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, timeoutMs);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
  });
}

export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? await freePort();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tally-redis-'));
  let child: ChildProcess;
  const launch = async () => {
    child = spawn('redis-server', serverArgs(port, dir, options), { stdio: 'ignore' });
    running.add(child);
    child.once('exit', () => running.delete(child));
    await waitUntilPingable(port, child);
  };
  await launch();
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    async kill9() {
      child.kill('SIGKILL');
      await waitForExit(child, stopTimeoutMs);
    },
    pause() { child.kill('SIGSTOP'); },
    resume() { child.kill('SIGCONT'); },
    async restart() {
      repairAof(dir);
      await launch();
    },
    async stop() {
      child.kill('SIGCONT'); // a paused server would never handle the SIGTERM
      child.kill('SIGTERM');
      await waitForExit(child, stopTimeoutMs);
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisClusterHandle {
  nodes: RedisServer[];
  rootNodes: { url: string }[];
  stop(): Promise<void>;
}

/**
 * A cluster of `masters` masters (no replicas), all 16384 slots assigned and agreed; node i
 * owns the i-th equal range of slots. Options apply to every node (e.g. AOF for crash tests).
 */
export async function startCluster(masters = 3, options: Omit<RedisServerOptions, 'cluster' | 'port' | 'dir'> = {}): Promise<RedisClusterHandle> {
  const nodes = await Promise.all(Array.from({ length: masters }, () => startRedis({ ...options, cluster: true })));
  const clients = await Promise.all(nodes.map((node) => connect(node.url)));
  const slotsPerNode = Math.ceil(16384 / masters);
  await Promise.all(clients.map(async (client, i) => {
    const first = i * slotsPerNode;
    const last = Math.min(16383, first + slotsPerNode - 1);
    await client.sendCommand(['CLUSTER', 'ADDSLOTSRANGE', String(first), String(last)]);
  }));
  for (const node of nodes.slice(1)) await clients[0]!.sendCommand(['CLUSTER', 'MEET', '127.0.0.1', String(node.port)]);
  await until(async () => {
    const states = await Promise.all(clients.map((c) => c.sendCommand(['CLUSTER', 'INFO'])));
    return states.every((s) => String(s).includes('cluster_state:ok') && String(s).includes(`cluster_known_nodes:${masters}`));
  }, { what: 'the test cluster to reach cluster_state:ok', timeoutMs: startTimeoutMs * 2, stepMs: 100 });
  clients.forEach((c) => c.destroy());
  return {
    nodes,
    rootNodes: nodes.map((n) => ({ url: n.url })),
    async stop() { await Promise.all(nodes.map((n) => n.stop())); },
  };
}

/** Last resort for a test run that failed before its after-hooks ran. */
process.once('exit', () => { for (const child of running) child.kill('SIGKILL'); });

/**
 * What an operator must do before starting a Redis 7.0 killed under AOF: `redis-check-aof --fix`.
 * A kill can cut the AOF's last write short (Linux stops a write(2) to a file at a page boundary
 * on SIGKILL). When the cut falls inside the MULTI/EXEC block holding one function call's
 * effects, Redis 7.0's own `aof-load-truncated` truncates only the broken command and leaves
 * `MULTI` and the commands before the cut in the file; the next write appends its block after
 * them, and the restart after that executes those commands in the middle of later history (a
 * partial transfer applied out of time: e.g. an account ranked in both `rank` and `rank:small`).
 * `redis-check-aof --fix` truncates to before that `MULTI`. Returns its report. restart() runs it, as scripts/run.sh does before starting Redis.
 */
export function repairAof(dir: string): string {
  const manifest = join(dir, 'appendonlydir', 'appendonly.aof.manifest');
  if (!existsSync(manifest)) return 'no AOF';
  const run = spawnSync('redis-check-aof', ['--fix', manifest], { input: 'y\n', encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`redis-check-aof --fix ${manifest} failed (${run.status ?? run.signal}): ${run.stdout}${run.stderr}`);
  return run.stdout;
}
