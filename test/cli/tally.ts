// Runs bin/tally.js as users do: a child process (testkit/processes.ts) against the shared Redis,
// in an empty working directory so that no .env of the developer's leaks in.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectRedis, type RedisConnection } from '../../src/connections.ts';
import { createLedger, type Ledger } from '../../src/ledger/client.ts';
import { startProcess, type ManagedProcess } from '../../testkit/processes.ts';
import { sharedRedisUrl } from '../../testkit/shared-redis.ts';

export const tallyBin = fileURLToPath(new URL('../../bin/tally.js', import.meta.url));
export const emptyDir = mkdtempSync(join(tmpdir(), 'tally-cli-'));

export interface Run { code: number | null; stdout: string; stderr: string }

export interface TallyOptions {
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  stdin?: string;
  /** The Node that runs bin/tally.js; default this one. */
  node?: string;
}

/** The environment a CLI child gets: PATH, the shared Redis, and `env` on top. */
export function cliEnv(env: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', REDIS_URL: sharedRedisUrl(), ...env };
}

/** Starts `tally args...` and leaves it running (for --follow). */
export function startTally(args: string[], env: Record<string, string> = {}, options: TallyOptions = {}): ManagedProcess {
  return startProcess({
    ...(options.node ? { command: options.node } : {}),
    args: [tallyBin, ...args], cwd: emptyDir, env: cliEnv(env), ...(options.stdin !== undefined ? { stdin: 'pipe' as const } : {}),
  });
}

/** Runs `tally args...` to its end. */
export async function tally(args: string[], env: Record<string, string> = {}, options: TallyOptions = {}): Promise<Run> {
  const proc = startTally(args, env, options);
  if (options.stdin !== undefined) proc.child.stdin!.end(options.stdin);
  const { code } = await proc.exited;
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** Registers hooks that connect a ledger to the shared Redis for the suite; `ledger()` is it. */
export function useSharedLedger(): () => Ledger {
  let redis: RedisConnection | undefined;
  let ledger: Ledger | undefined;
  before(async () => {
    redis = await connectRedis({ url: sharedRedisUrl() });
    ledger = createLedger(redis);
  });
  after(() => { redis?.destroy(); });
  return () => ledger!;
}
