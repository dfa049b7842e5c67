// The schedule lock: Agenda's every()/unique() are not atomic on Redis, so schedule() and
// unschedule() run under it. A TTL frees the lock of a crashed holder; waiting is bounded.
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Collection } from 'mongodb';
import { ScheduleBusyError } from './errors.ts';
import { sleep } from '../../time.ts';

export interface Lock { withLock<T>(name: string, fn: () => Promise<T>): Promise<T> }

export type LockDoc = { _id: string; token: string; expiresAt: Date };

const scheduleLockTtlMs = 15_000;
const scheduleLockWaitMs = 10_000;
const releaseScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/** A lock with a TTL (so a crashed holder frees it) and a bounded wait. */
function createLock(acquire: (key: string, token: string) => Promise<boolean>, release: (key: string, token: string) => Promise<void>): Lock {
  return {
    async withLock(name, fn) {
      const token = randomUUID();
      const deadline = Date.now() + scheduleLockWaitMs;
      while (!(await acquire(name, token))) {
        if (Date.now() > deadline) throw new ScheduleBusyError(name);
        await sleep(20 + Math.floor(Math.random() * 40));
      }
      try {
        return await fn();
      } finally {
        await release(name, token);
      }
    },
  };
}

/** Redis SET NX PX under `<keyPrefix>tally:lock:<name>`, released only by its holder. */
export function redisLock(redis: Redis | Cluster, lockKey: (name: string) => string): Lock {
  return createLock(
    async (name, token) => (await redis.set(lockKey(name), token, 'PX', scheduleLockTtlMs, 'NX')) === 'OK',
    async (name, token) => { await redis.eval(releaseScript, 1, lockKey(name), token); },
  );
}

/** One document per held lock; the collection's TTL index (expiresAt) drops expired ones. */
export function mongoLock(locks: Collection<LockDoc>): Lock {
  return createLock(
    async (name, token) => {
      try {
        await locks.insertOne({ _id: name, token, expiresAt: new Date(Date.now() + scheduleLockTtlMs) });
        return true;
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
        await locks.deleteOne({ _id: name, expiresAt: { $lt: new Date() } }); // a crashed holder's
        return false;
      }
    },
    async (name, token) => { await locks.deleteOne({ _id: name, token }); },
  );
}
