// The source of the `ledger` Redis Functions library: redis-functions/ledger/_lib.lua first (the
// private helpers), then one file per registered function, in name order, as one chunk.
import { createHash } from 'node:crypto';
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
