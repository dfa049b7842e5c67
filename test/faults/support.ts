// Helpers of the fault-injection suite: bounded waits, the per-scenario report line, the
// quick / full switch, and a TCP proxy that can be unplugged.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../support/redis-server.ts';

export const quick = process.env.FAULTS_QUICK === '1';

/** Resolves once predicate() is true; throws after timeoutMs (every wait here is bounded). */
export async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface ScenarioFigures {
  attempted: number;
  acknowledged: number;
  found: number;
  lost: number;
  [extra: string]: number | string;
}

/** One line per scenario, the figures the README's durability section quotes. */
export function report(scenario: string, figures: ScenarioFigures): void {
  const extra = Object.entries(figures).filter(([k]) => !['attempted', 'acknowledged', 'found', 'lost'].includes(k))
    .map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`      [faults] ${scenario}: attempted=${figures.attempted} acknowledged=${figures.acknowledged} found=${figures.found} lost=${figures.lost}${extra ? ` ${extra}` : ''}`);
}

/** A TCP proxy on a fixed port that can be unplugged (refuse and cut connections) and plugged again. */
export async function startPlug(targetPort: number) {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const plug = () => new Promise<void>((resolve, reject) => {
    server = createServer((client) => {
      const upstream = createConnection({ port: targetPort, host: '127.0.0.1' });
      for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); }
      client.pipe(upstream).pipe(client);
    });
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const unplug = async () => {
    const closing = server;
    server = null;
    for (const s of sockets) s.destroy();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };
  await plug();
  return { port, plug, unplug };
}

/**
 * What an operator must do before starting a Redis 7.0 killed under AOF: `redis-check-aof --fix`.
 * A kill can cut the AOF's last write short (Linux stops a write(2) to a file at a page boundary
 * on SIGKILL). When the cut falls inside the MULTI/EXEC block holding one function call's
 * effects, Redis 7.0's own `aof-load-truncated` truncates only the broken command and leaves
 * `MULTI` and the commands before the cut in the file; the next write appends its block after
 * them, and the restart after that executes those commands in the middle of later history (a
 * partial transfer applied out of time: e.g. an account ranked in both `rank` and `rank:small`).
 * `redis-check-aof --fix` truncates to before that `MULTI`. Returns its report.
 */
export function repairAof(dir: string): string {
  const manifest = join(dir, 'appendonlydir', 'appendonly.aof.manifest');
  if (!existsSync(manifest)) return 'no AOF';
  const run = spawnSync('redis-check-aof', ['--fix', manifest], { input: 'y\n', encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`redis-check-aof --fix ${manifest} failed (${run.status ?? run.signal}): ${run.stdout}${run.stderr}`);
  return run.stdout;
}
