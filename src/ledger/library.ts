// The source of the `ledger` Redis Functions library: redis-functions/ledger/_lib.lua first (the
// private helpers), then one file per registered function, in name order, as one chunk.
import { createHash } from 'node:crypto';
import { isCluster, type RedisConnection } from '../connections.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const libraryName = 'ledger';
export const libraryDir = fileURLToPath(new URL('../../redis-functions/ledger/', import.meta.url));

export function librarySourceFiles(dir = libraryDir): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.lua')).sort();
  return ['_lib.lua', ...files.filter((f) => f !== '_lib.lua')].map((f) => join(dir, f));
}

export function librarySource(dir = libraryDir): string {
  const body = librarySourceFiles(dir).map((file) => readFileSync(file, 'utf8')).join('\n');
  return `#!lua name=${libraryName}\n${body}`;
}

export function librarySourceHash(dir = libraryDir): string {
  return createHash('sha256').update(librarySource(dir)).digest('hex');
}

/** What one server holds of the library: the current source, another one, or nothing. */
export type LibraryState = 'current' | 'outdated' | 'missing';

let cachedSource: string | undefined;

/** The library's state on each master (or the one standalone server), by `host:port`. */
export async function librariesOnMasters(redis: RedisConnection): Promise<{ node: string; state: LibraryState }[]> {
  cachedSource ??= librarySource();
  const nodes = isCluster(redis)
    ? await Promise.all(redis.masters.map(async (m) => ({ node: `${m.host}:${m.port}`, client: await redis.nodeClient(m) })))
    : [{ node: 'redis', client: redis }];
  return Promise.all(nodes.map(async ({ node, client }) => {
    const list = await client.sendCommand(['FUNCTION', 'LIST', 'LIBRARYNAME', libraryName, 'WITHCODE']) as unknown[];
    const entry = list.map(libraryEntry).find((e) => e.get('library_name') === libraryName);
    if (!entry) return { node, state: 'missing' as const };
    return { node, state: entry.get('library_code') === cachedSource ? 'current' as const : 'outdated' as const };
  }));
}

/** FUNCTION LIST's entry as a map: a flat array (RESP2), a Map or an object (RESP3 maps). */
function libraryEntry(raw: unknown): Map<string, unknown> {
  const text = (v: unknown) => (typeof v === 'string' || v instanceof Buffer ? String(v) : v);
  if (raw instanceof Map) return new Map([...raw].map(([k, v]) => [String(k), text(v)]));
  if (!Array.isArray(raw)) return new Map(Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, text(v)]));
  const map = new Map<string, unknown>();
  for (let i = 0; i + 1 < raw.length; i += 2) map.set(String(raw[i]), text(raw[i + 1]));
  return map;
}

/** The masters that lack the library or hold another version of it. */
export async function libraryGaps(redis: RedisConnection): Promise<{ missing: string[]; outdated: string[] }> {
  const states = await librariesOnMasters(redis);
  return {
    missing: states.filter((s) => s.state === 'missing').map((s) => s.node),
    outdated: states.filter((s) => s.state === 'outdated').map((s) => s.node),
  };
}
