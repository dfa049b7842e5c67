// The composition root, the one place that knows every part:
//   config -> connections -> ledger, snapshot and airdrop services, realtime -> createApp + worker -> graceful stop.
// The `api` role serves HTTP and Socket.IO, the `worker` role runs snapshot and airdrop jobs; one process
// may have both. The stop refuses new connections, lets in-flight requests finish
// (src/lifecycle.ts), stops realtime, jobs and stores, then closes Redis; all within
// SHUTDOWN_TIMEOUT_MS.
//
// `node src/main.ts` (npm start) runs it; tests call start().
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Express } from 'express';
import type { RedisClientType } from 'redis';
import { createApp } from './app.ts';
import { createAirdropService, type AirdropService } from './airdrops/service.ts';
import { createMongoAirdropStore } from './airdrops/store/mongo.ts';
import { createRedisAirdropStore } from './airdrops/store/redis.ts';
import type { ReadinessCheck } from './http/health.ts';
import { createJwtVerifier } from './auth/jwt.ts';
import { ConfigError, loadConfig, readEnv, type Config } from './config.ts';
import { createLedger, type Ledger } from './ledger/client.ts';
import { archiveOf } from './http/ledger-history.ts';
import { listen } from './lifecycle.ts';
import { createLogger, type Logger } from './logger.ts';
import { connectPubSub, connectRedis, isCluster, type RedisConnection } from './connections.ts';
import { createAirdropEventEmitter } from './realtime/airdrop-events.ts';
import { createRealtime, type Realtime } from './realtime/server.ts';
import { createSnapshotEventEmitter } from './realtime/snapshot-events.ts';
import { openIpfsStore } from './snapshots/ipfs-store.ts';
import { createMirrorClient } from './snapshots/mirror/client.ts';
import { createMongoSnapshotStore } from './snapshots/store/mongo.ts';
import { createRedisSnapshotStore } from './snapshots/store/redis.ts';
import { createScheduler } from './snapshots/jobs/scheduler.ts';
import { createSnapshotService, type SnapshotService } from './snapshots/service.ts';
import { withTimeout } from './time.ts';

const redisConnectTimeoutMs = 15_000;
const redisErrorLogIntervalMs = 30_000;
const jobsReadyTimeoutMs = 15_000;
/** While Redis is down, snapshot events wait in a bounded queue, then are dropped (at-most-once). */
const eventQueueMax = 10_000;

export interface StartOptions {
  logger?: Logger;
}

export interface Started {
  /** http://host:port, or null when this process does not have the `api` role. */
  url: string | null;
  server: Server | null;
  app: Express | null;
  redis: RedisConnection;
  ledger: Ledger;
  logger: Logger;
  /** Graceful stop; resolves with forced = true when the timeout cut connections. Idempotent. */
  stop: () => Promise<{ forced: boolean }>;
}

/** node-redis reports every failed reconnect; log the first and then one per interval. */
function throttledRedisErrorLog(logger: Logger): (error: Error) => void {
  let lastLoggedMs = 0;
  let suppressed = 0;
  return (error) => {
    const now = Date.now();
    if (now - lastLoggedMs < redisErrorLogIntervalMs) {
      suppressed += 1;
      return;
    }
    logger.warn({ err: { name: error.name, message: error.message }, suppressed }, 'Redis connection error (reconnecting)');
    lastLoggedMs = now;
    suppressed = 0;
  };
}

interface Snapshots {
  service: SnapshotService;
  airdrops: AirdropService;
  exists(snapshotId: string): Promise<boolean>;
  readiness: Record<'store' | 'jobs', ReadinessCheck>;
  /** The plain connection snapshot events are published on; Socket.IO duplicates it. */
  pub: RedisClientType;
  close(): Promise<void>;
}

/** The snapshot side: metadata store and Agenda (MongoDB when configured, else Redis), Helia, the mirror client. */
async function openSnapshots(config: Readonly<Config>, redis: RedisConnection, ledger: Ledger, logger: Logger): Promise<Snapshots> {
  const ns = config.jobs.namespace;
  // Socket.IO's emitter and adapter, and Agenda's Redis backend, need a plain connection; on a
  // cluster, classic Pub/Sub reaches every node from any one of them.
  const plainUrl = config.redis.url ?? config.redis.clusterUrls[0]!;
  const pub = await connectPubSub(plainUrl, {
    queueMax: eventQueueMax, commandTimeoutMs: config.redis.commandTimeoutMs,
    onError: (error) => logger.warn({ err: { message: error.message } }, 'snapshot redis connection error'),
  });
  const store = config.mongodbUrl
    ? await createMongoSnapshotStore({ url: config.mongodbUrl })
    : createRedisSnapshotStore({ redis, keyPrefix: isCluster(redis) ? `{${ns}:snap}:` : `${ns}:snap:` });
  const isWorker = config.roles.includes('worker');
  const scheduler = await createScheduler({
    ...(config.redis.clusterUrls.length > 0 ? { redisClusterUrls: config.redis.clusterUrls } : { redisUrl: plainUrl }),
    ...(config.mongodbUrl ? { mongoUrl: config.mongodbUrl } : {}),
    keyPrefix: `{${ns}:agenda}:`, channelName: `${ns}:agenda`,
    lockLifetimeMs: config.jobs.lockLifetimeMs, processEveryMs: config.jobs.pollMs, minIntervalMs: config.jobs.scheduleMinIntervalMs,
    roles: { worker: isWorker }, readyTimeoutMs: jobsReadyTimeoutMs, commandTimeoutMs: config.redis.commandTimeoutMs,
    onError: (error, context) => logger.warn({ err: { message: error.message }, context }, 'scheduler error'),
  });
  const ipfs = await openIpfsStore({ dir: join(config.dataDir, 'ipfs') });
  const mirror = createMirrorClient({
    baseUrl: config.hedera.mirrorNodeUrl, rps: config.hedera.mirrorRps, requestTimeoutMs: config.hedera.mirrorTimeoutMs,
    maxAttempts: config.hedera.mirrorAttempts, retryBaseDelayMs: config.hedera.mirrorRetryBaseMs, network: config.hedera.network,
  });
  const events = createSnapshotEventEmitter(pub, `${ns}:io`, (error) => logger.debug({ err: { message: error.message } }, 'snapshot event dropped'));
  // The history reads of the jobs (ledger snapshots, checkpoint counts) with the archived log
  // segments for what a trimmed log no longer holds.
  const archive = archiveOf({ store, ipfs });
  const ledgerHistory = {
    listTokens: ledger.listTokens,
    resolveAt: (symbol: string, at?: string) => ledger.resolveAt(symbol, at, archive),
    snapshotAt: (symbol: string, eventId: string, checkpoint: Parameters<Ledger['snapshotAt']>[2], onProgress?: (fraction: number) => void | Promise<void>) =>
      ledger.snapshotAt(symbol, eventId, checkpoint, onProgress, archive),
    entriesAfter: (symbol: string, after: string | null, max: number) => ledger.entriesAfter(symbol, after, max, archive),
  };
  const { history } = config;
  const service = createSnapshotService({
    store, scheduler, ipfs, mirror, events, network: config.hedera.network, logger,
    workDir: join(config.dataDir, 'snapshots'), attempts: config.jobs.attempts, backoffMs: config.jobs.backoffMs,
    keepAliveMs: Math.max(100, Math.floor(config.jobs.lockLifetimeMs / 4)), ledgerHistory,
    checkpointEveryEntries: history.checkpointEveryEntries,
    ledgerLog: ledger,
    logArchive: {
      retentionEntries: history.logRetentionEntries, segmentEntries: history.logSegmentEntries,
      ...(history.faultLogArchivePause ? { faultPause: history.faultLogArchivePause } : {}),
    },
  });
  if (isWorker) service.defineJobs();
  // Airdrops from a snapshot share the store's backend, the scheduler, Helia and the event emitter.
  const airdropStore = config.mongodbUrl
    ? await createMongoAirdropStore({ url: config.mongodbUrl })
    : createRedisAirdropStore({ redis, keyPrefix: isCluster(redis) ? `{${ns}:airdrop}:` : `${ns}:airdrop:` });
  const airdrops = createAirdropService({
    store: airdropStore, snapshots: store, ipfs, ledger, scheduler, logger,
    events: createAirdropEventEmitter(pub, `${ns}:io`, (error) => logger.debug({ err: { message: error.message } }, 'airdrop event dropped')),
    chunkLegs: config.airdrops.chunkLegs, chunkPauseMs: config.airdrops.chunkPauseMs,
    attempts: config.jobs.attempts, backoffMs: config.jobs.backoffMs, keepAliveMs: Math.max(100, Math.floor(config.jobs.lockLifetimeMs / 4)),
  });
  if (isWorker) airdrops.defineJobs();
  await scheduler.start();
  if (isWorker) {
    await service.scheduleCheckpoints(history.checkpointCheckMs);
    await service.scheduleLogArchive(history.logArchiveCheckMs);
  }
  return {
    service, airdrops, pub,
    exists: async (snapshotId) => (await store.get(snapshotId)) !== null,
    readiness: { store: () => store.ping(), jobs: () => scheduler.ping() },
    async close() {
      await scheduler.stop();
      await Promise.allSettled([ipfs.stop(), mirror.close(), store.close(), airdropStore.close()]);
      await pub.close().catch(() => {});
    },
  };
}

async function tokenExists(ledger: Ledger, symbol: string): Promise<boolean> {
  return ledger.info(symbol).then(() => true, (error: { code?: string }) => {
    if (error.code === 'TOKEN_NOT_FOUND') return false;
    throw error;
  });
}

/** Stops each part in turn within what is left of the deadline; true when one had to be cut. */
async function stopParts(parts: [string, () => Promise<unknown>][], deadlineMs: number, logger: Logger): Promise<boolean> {
  let forced = false;
  for (const [name, stopPart] of parts) {
    try {
      await withTimeout(stopPart(), Math.max(1, deadlineMs - Date.now()), `stopping ${name}`);
    } catch (error) {
      forced = true;
      logger.error({ err: error, part: name }, 'did not stop cleanly');
    }
  }
  return forced;
}

export async function start(config: Readonly<Config>, options: StartOptions = {}): Promise<Started> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const redis = await withTimeout(connectRedis({ ...config.redis, onError: throttledRedisErrorLog(logger) }), redisConnectTimeoutMs, 'connecting to Redis');
  const ledger = createLedger(redis);
  try {
    logger.info({ version: await ledger.version() }, 'ledger library found');
  } catch (error) {
    logger.warn({ err: { message: (error as Error).message } }, 'the ledger library does not answer: run `npm run migrate` (readyz answers 503 until then)');
  }
  const snapshots = await openSnapshots(config, redis, ledger, logger);
  const verifier = createJwtVerifier(config.jwt);

  let shuttingDown = false;
  let realtime: Realtime | undefined;
  const http = config.roles.includes('api') ? await (async () => {
    const app = createApp({
      ledger, redis, config, logger, verifier, snapshots: snapshots.service, airdrops: snapshots.airdrops, isShuttingDown: () => shuttingDown,
      readinessChecks: {
        ...snapshots.readiness,
        // After a Redis restart the Pub/Sub connections come back a little after the main one;
        // until they have resubscribed, events would be dropped, so the instance is not ready.
        realtime: async () => {
          if (!snapshots.pub.isReady) throw new Error('the event emitter connection is down');
          return realtime ? realtime.ready() : 'Socket.IO is starting';
        },
      },
    });
    const listening = await listen(app, config.http.port, config.http.host, logger);
    realtime = await createRealtime({
      httpServer: listening.server, pubsub: snapshots.pub, logger, channelPrefix: `${config.jobs.namespace}:io`, verifier,
      snapshots, tokenExists: (symbol) => tokenExists(ledger, symbol),
    });
    logger.info({ url: listening.url }, `tally listening on ${listening.url}`);
    return { app, ...listening };
  })() : null;
  logger.info({ roles: config.roles }, 'tally started');

  let stopping: Promise<{ forced: boolean }> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      shuttingDown = true;
      const deadlineMs = Date.now() + config.http.shutdownTimeoutMs;
      logger.info({ timeoutMs: config.http.shutdownTimeoutMs }, 'shutting down');
      const drainedCleanly = http ? await http.drain(config.http.shutdownTimeoutMs) : true;
      const cut = await stopParts([
        ['realtime', async () => realtime?.close()],
        ['snapshots', () => snapshots.close()],
        ['redis', () => redis.close().catch((error: unknown) => { redis.destroy(); throw error; })],
      ], deadlineMs, logger);
      if (cut) redis.destroy();
      const forced = !drainedCleanly || cut;
      logger.info({ forced }, forced ? 'stopped (forced)' : 'stopped');
      return { forced };
    })();
    return stopping;
  };

  return { url: http?.url ?? null, server: http?.server ?? null, app: http?.app ?? null, redis, ledger, logger, stop };
}

async function main(): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig(readEnv());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`tally: ${error.message}`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    process.exit(1);
  });
  // Handlers go in before anything starts, so an early signal still stops cleanly. A repeated
  // SIGTERM is ignored (a supervisor and `npm start` may both deliver one); a second SIGINT
  // (Ctrl-C twice) means "now".
  let started: Started | undefined;
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      if (signal === 'SIGINT') process.exit(1);
      return;
    }
    signalled = true;
    logger.info({ signal }, 'signal received');
    if (started) void started.stop().then(({ forced }) => process.exit(forced ? 1 : 0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    started = await start(config, { logger });
  } catch (error) {
    logger.fatal({ err: { message: (error as Error).message } }, 'could not start');
    process.exit(1);
  }
  if (signalled) process.exit((await started.stop()).forced ? 1 : 0);
}

if (import.meta.main) await main();
