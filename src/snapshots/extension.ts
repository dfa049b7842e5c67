// Plugs the snapshot service and Socket.IO into `npm start` (src/main.ts): the metadata store
// (MongoDB when MONGODB_URL is set, else Redis), Agenda (same choice), the embedded Helia node,
// the mirror-node client, the REST routes, and the realtime namespaces. The `worker` role runs
// jobs; the `api` role serves HTTP and Socket.IO; one process may have both.
import { join } from 'node:path';
import { createClient, type RedisClientType } from 'redis';
import type { ExtensionFactory, RuntimeExtension } from '../main.ts';
import { createSnapshotsRouter, snapshotsOpenApi } from '../http/snapshots.ts';
import { createRealtime, type Realtime } from '../realtime/server.ts';
import { createTokenVerifier } from '../realtime/socket-auth.ts';
import { createSnapshotEventEmitter } from '../realtime/snapshot-events.ts';
import { isCluster } from '../redis.ts';
import { openIpfsStore } from './ipfs-store.ts';
import { createMirrorClient } from './mirror/client.ts';
import { createMongoSnapshotStore } from './store/mongo.ts';
import { createRedisSnapshotStore } from './store/redis.ts';
import { createScheduler } from './jobs/scheduler.ts';
import { createSnapshotService } from './service.ts';

const readyTimeoutMs = 15_000;
const pubQueueMax = 10_000;

export const snapshotExtension: ExtensionFactory = async ({ config, redis, ledger, logger }) => {
  const ns = config.jobs.namespace;
  // Socket.IO's adapter and emitter, and Agenda's Redis backend, need a plain connection; on a
  // cluster, classic Pub/Sub reaches every node from any one of them.
  const plainUrl = config.redis.url ?? config.redis.clusterUrls[0]!;
  // While Redis is down, events wait in a bounded queue (then publish fails and they are dropped:
  // events are at-most-once; the store has the state).
  const pub = createClient({ url: plainUrl, commandsQueueMaxLength: pubQueueMax }) as RedisClientType;
  pub.on('error', (error: Error) => logger.warn({ err: { message: error.message } }, 'snapshot redis connection error'));
  await pub.connect();

  const store = config.mongodbUrl
    ? await createMongoSnapshotStore({ url: config.mongodbUrl })
    : createRedisSnapshotStore({ redis, keyPrefix: isCluster(redis) ? `{${ns}:snap}:` : `${ns}:snap:` });
  const isWorker = config.roles.includes('worker');
  const scheduler = await createScheduler({
    ...(config.redis.clusterUrls.length > 0 ? { redisClusterUrls: config.redis.clusterUrls } : { redisUrl: plainUrl }),
    ...(config.mongodbUrl ? { mongoUrl: config.mongodbUrl } : {}),
    keyPrefix: `{${ns}:agenda}:`,
    channelName: `${ns}:agenda`,
    lockLifetimeMs: config.jobs.lockLifetimeMs,
    processEveryMs: config.jobs.pollMs,
    minIntervalMs: config.jobs.scheduleMinIntervalMs,
    roles: { worker: isWorker },
    readyTimeoutMs,
    onError: (error, context) => logger.warn({ err: { message: error.message }, context }, 'scheduler error'),
  });
  const ipfs = await openIpfsStore({ dir: join(config.dataDir, 'ipfs') });
  const mirror = createMirrorClient({
    baseUrl: config.hedera.mirrorNodeUrl, rps: config.hedera.mirrorRps, requestTimeoutMs: config.jobs.mirrorTimeoutMs,
    maxAttempts: config.hedera.mirrorAttempts, retryBaseDelayMs: config.hedera.mirrorRetryBaseMs, network: config.hedera.network,
  });
  const events = createSnapshotEventEmitter(pub, `${ns}:io`, (error) => logger.debug({ err: { message: error.message } }, 'snapshot event dropped'));
  const service = createSnapshotService({
    store, scheduler, ipfs, mirror, events, network: config.hedera.network, logger,
    workDir: join(config.dataDir, 'snapshots'), attempts: config.jobs.attempts, backoffMs: config.jobs.backoffMs,
    keepAliveMs: Math.max(100, Math.floor(config.jobs.lockLifetimeMs / 4)),
  });
  if (isWorker) service.defineJobs();
  await scheduler.start();

  let realtime: Realtime | undefined;
  const extension: RuntimeExtension = {
    name: 'snapshots',
    router: createSnapshotsRouter(service).router,
    openapi: snapshotsOpenApi,
    readinessChecks: {
      store: () => store.ping(),
      jobs: () => scheduler.ping(),
      // After a Redis restart the Pub/Sub connections come back a little after the main one;
      // until they have resubscribed, events would be dropped, so the instance is not ready.
      realtime: async () => {
        if (!pub.isReady) throw new Error('the event emitter connection is down');
        return realtime ? realtime.ready() : 'no Socket.IO in this process';
      },
    },
    async attach(server) {
      realtime = await createRealtime({
        httpServer: server, pubsub: pub, logger, channelPrefix: `${ns}:io`,
        verifyToken: createTokenVerifier(config.jwt),
        snapshots: { exists: async (id) => (await store.get(id)) !== null },
        tokenExists: async (symbol) => ledger.info(symbol).then(() => true, (error: { code?: string }) => {
          if (error.code === 'TOKEN_NOT_FOUND') return false;
          throw error;
        }),
      });
    },
    async stop() {
      await realtime?.close();
      await scheduler.stop();
      await Promise.allSettled([ipfs.stop(), mirror.close(), store.close()]);
      await pub.close().catch(() => {});
    },
  };
  return extension;
};
