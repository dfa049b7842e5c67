// A fresh redis-server per scenario (or per side of a memory comparison), with the `ledger`
// library loaded the way production loads it (the migrations) and the original design's
// `baseline` library beside it. Every server and connection is closed by `withRedis`.
// BENCH_LEDGER_DIR=<dir> loads a candidate copy of redis-functions/ledger instead, to compare a
// change before and after.
import { readFileSync } from 'node:fs';
import type { RedisClientType } from 'redis';
import { librarySource } from '../../src/ledger/library.ts';
import { loadFunctionLibrary } from '../../src/migrate/function-load.ts';
import { migrate } from '../../src/migrate/migrations.ts';
import { connect } from '../../testkit/clients.ts';
import { startRedis, type RedisServer } from '../../testkit/redis-server.ts';
import { sleep } from '../../testkit/wait.ts';

export type BenchClient = RedisClientType;

const baselineSource = readFileSync(new URL('../baseline/original.lua', import.meta.url), 'utf8');
export const candidateLedgerDir = process.env.BENCH_LEDGER_DIR || undefined;

export interface BenchRedis {
  server: RedisServer;
  /** For setup and INFO; never part of a measured load. */
  admin: BenchClient;
  connect(count: number): Promise<BenchClient[]>;
}

/** INFO counters that a measurement compares before and after. */
export interface ServerCounters {
  cpuSeconds: number;
  /** Per command (lower case, e.g. `fcall`): calls and microseconds spent, since the last reset. */
  commands: Map<string, { calls: number; usec: number }>;
}

const connectOne = (url: string) => connect(url, { onError: (error) => { console.error(`bench: redis client error: ${error.message}`); } });

export async function withRedis<T>(run: (redis: BenchRedis) => Promise<T>): Promise<T> {
  const server = await startRedis();
  const clients: BenchClient[] = [];
  try {
    const admin = await connectOne(server.url);
    clients.push(admin);
    if (candidateLedgerDir) await loadFunctionLibrary(admin, librarySource(candidateLedgerDir));
    else await migrate(admin);
    await admin.functionLoad(baselineSource, { REPLACE: true });
    const connect = async (count: number) => {
      const more = await Promise.all(Array.from({ length: count }, () => connectOne(server.url)));
      clients.push(...more);
      return more;
    };
    return await run({ server, admin, connect });
  } finally {
    for (const client of clients) client.destroy();
    await server.stop();
  }
}

/** Raw FCALL: the benchmarks measure the library, not the TypeScript wrappers' parsing. */
export function fcall(client: BenchClient, fn: string, keys: string[], args: string[]): Promise<unknown> {
  return client.sendCommand(['FCALL', fn, String(keys.length), ...keys, ...args]);
}

export function fcallRo(client: BenchClient, fn: string, keys: string[], args: string[]): Promise<unknown> {
  return client.sendCommand(['FCALL_RO', fn, String(keys.length), ...keys, ...args]);
}

function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

async function info(admin: BenchClient, section: string): Promise<Map<string, string>> {
  return infoFields(String(await admin.sendCommand(['INFO', section])));
}

export async function serverCounters(admin: BenchClient): Promise<ServerCounters> {
  const fields = infoFields(String(await admin.sendCommand(['INFO', 'everything'])));
  const commands = new Map<string, { calls: number; usec: number }>();
  for (const [field, value] of fields) {
    if (!field.startsWith('cmdstat_')) continue;
    const calls = /calls=(\d+)/.exec(value);
    const usec = /usec=(\d+)/.exec(value);
    commands.set(field.slice('cmdstat_'.length), { calls: Number(calls?.[1] ?? 0), usec: Number(usec?.[1] ?? 0) });
  }
  const cpuSeconds = Number(fields.get('used_cpu_user')) + Number(fields.get('used_cpu_sys'));
  return { cpuSeconds, commands };
}

/** Calls and server microseconds of `command`, and server CPU seconds, between two readings. */
export function serverDelta(before: ServerCounters, after: ServerCounters, command: string) {
  const a = before.commands.get(command) ?? { calls: 0, usec: 0 };
  const b = after.commands.get(command) ?? { calls: 0, usec: 0 };
  return { calls: b.calls - a.calls, usec: b.usec - a.usec, cpuSeconds: after.cpuSeconds - before.cpuSeconds };
}

/** used_memory once the server has settled (incremental rehashing done, nothing moving). */
export async function settledUsedMemory(admin: BenchClient): Promise<number> {
  const readingsMax = 100;
  let previous = -1;
  for (let i = 0; i < readingsMax; i++) {
    const current = Number((await info(admin, 'memory')).get('used_memory'));
    if (current === previous) return current;
    previous = current;
    await sleep(200);
  }
  return previous;
}
