// Applies migrations/NNNN-name.ts in order, each recorded once in Redis (hash tally:migrations:
// id -> JSON {appliedAt, checksum}). A migration that exports `checksum` is applied again when
// its checksum changes (the ledger library reloads when its source changes); every other one
// runs once. On a cluster the record lives on the slot of `tally:migrations`, and migrations
// that must reach every master (FUNCTION LOAD) do so through the cluster client.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RedisConnection } from '../connections.ts';

export interface Migration {
  id: string;
  description: string;
  /** When present, the migration is applied again whenever this value changes. */
  checksum?: () => string;
  /** When present and true, the migration is applied again although recorded (its work was lost). */
  pending?: (redis: RedisConnection) => Promise<boolean>;
  up: (redis: RedisConnection) => Promise<void>;
}

export type MigrationModule = Omit<Migration, 'id'>;

export interface MigrationResult { id: string; applied: boolean }

const recordKey = 'tally:migrations';
const migrationsDir = fileURLToPath(new URL('../../migrations/', import.meta.url));
const fileNamePattern = /^(\d{4})-[a-z0-9-]+\.ts$/;

export async function loadMigrations(dir = migrationsDir): Promise<Migration[]> {
  const files = readdirSync(dir).filter((f) => fileNamePattern.test(f)).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const mod = await import(pathToFileURL(join(dir, file)).href) as { default: MigrationModule };
    migrations.push({ id: file.replace(/\.ts$/, ''), ...mod.default });
  }
  return migrations;
}

export async function migrate(redis: RedisConnection, migrations?: Migration[]): Promise<MigrationResult[]> {
  const list = migrations ?? await loadMigrations();
  const results: MigrationResult[] = [];
  for (const migration of list) {
    const checksum = migration.checksum?.() ?? '';
    const recorded = await redis.hGet(recordKey, migration.id);
    const previous = recorded ? (JSON.parse(String(recorded)) as { checksum: string }).checksum : undefined;
    if (previous !== undefined && previous === checksum && !(await migration.pending?.(redis))) {
      results.push({ id: migration.id, applied: false });
      continue;
    }
    await migration.up(redis);
    await redis.hSet(recordKey, migration.id, JSON.stringify({ appliedAt: Date.now(), checksum }));
    results.push({ id: migration.id, applied: true });
  }
  return results;
}
