// Mocha root hooks: one standalone redis-server (no persistence) for the whole run, with the
// migrations applied. Suites that need AOF, a cluster or a server they can kill start their own
// with testkit/redis-server.ts. Tests isolate themselves by using their own token symbols
// (uniqueSymbol) or FLUSHALL in their own hooks (the loaded functions survive FLUSHALL).
import { randomBytes } from 'node:crypto';
import { migrate } from '../src/migrate/migrations.ts';
import { connect } from './clients.ts';
import { startRedis, type RedisServer } from './redis-server.ts';

let shared: RedisServer | undefined;

export function sharedRedisUrl(): string {
  if (!shared) throw new Error('the shared redis-server is not running (root hooks not loaded?)');
  return shared.url;
}

/** A token symbol no other test uses. */
export function uniqueSymbol(prefix = 'T'): string {
  return `${prefix}${randomBytes(6).toString('hex').toUpperCase()}`;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(30_000);
    shared = await startRedis();
    const client = await connect(shared.url);
    await migrate(client);
    client.destroy();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    await shared?.stop();
  },
};
