// The composition root: config -> Redis -> ledger -> app (+ extensions) -> listen, and the
// graceful stop: refuse new connections, let in-flight requests finish (keep-alive connections
// are closed as they go idle), stop extensions, close Redis; all within SHUTDOWN_TIMEOUT_MS.
//
// `node src/main.ts` (npm start) runs it; other code (tests, the snapshot side) calls start().
// To add a part that needs the running server (Socket.IO, the snapshot worker), append an
// ExtensionFactory to `defaultExtensions` below or pass `extensions` to start().
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import type { Express } from 'express';
import { createApp, type AppExtension } from './app.ts';
import { ConfigError, loadConfig, readEnv, type Config } from './config.ts';
import { createLedger, type Ledger } from './ledger/client.ts';
import { createLogger, type Logger } from './logger.ts';
import { connectRedis, type RedisConnection } from './redis.ts';
import { snapshotExtension } from './snapshots/extension.ts';

const redisConnectTimeoutMs = 15_000;
const redisErrorLogIntervalMs = 30_000;
const idleSweepIntervalMs = 50;
/** During a drain, a connection without a request for this long is closed. */
const idleGraceMs = 250;
const backlogAcceptMaxMs = 2_000;

export interface ExtensionContext {
  config: Readonly<Config>;
  redis: RedisConnection;
  ledger: Ledger;
  logger: Logger;
}

/** An AppExtension that may also hook into the server's life. */
export interface RuntimeExtension extends AppExtension {
  /** Called once the HTTP server listens (attach Socket.IO here). */
  attach?: (server: Server) => void | Promise<void>;
  /** Called during shutdown, after HTTP has drained and before Redis closes. */
  stop?: () => Promise<void>;
}

export type ExtensionFactory = (context: ExtensionContext) => RuntimeExtension | Promise<RuntimeExtension>;

/** Extensions every `npm start` loads (the snapshot side registers its factory here). */
export const defaultExtensions: ExtensionFactory[] = [snapshotExtension];

export interface StartOptions {
  logger?: Logger;
  extensions?: ExtensionFactory[];
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

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
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

function displayUrl(server: Server): string {
  const { address, port } = server.address() as AddressInfo;
  const host = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '[::1]' : address.includes(':') ? `[${address}]` : address;
  return `http://${host}:${port}`;
}

/**
 * Tracks each connection's in-flight requests and activity, for a drain that never cuts a
 * request. (Node's server.close() closes every connection without a parsed request at once,
 * including ones accepted just before whose request bytes are not read yet.)
 */
function trackConnections(server: Server) {
  interface State { inFlight: number; lastActiveMs: number; bytesAtIdle: number; idleSeenBytes: number | null }
  const connections = new Map<Socket, State>();
  let accepted = 0;
  server.on('connection', (socket: Socket) => {
    accepted += 1;
    connections.set(socket, { inFlight: 0, lastActiveMs: Date.now(), bytesAtIdle: 0, idleSeenBytes: null });
    socket.once('close', () => connections.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const state = connections.get(req.socket);
    if (!state) return;
    state.inFlight += 1;
    res.once('close', () => {
      state.inFlight -= 1;
      state.lastActiveMs = Date.now();
      state.bytesAtIdle = req.socket.bytesRead;
    });
  });
  return {
    get accepted() { return accepted; },
    /**
     * Destroys connections that are idle: no request in flight, no request bytes received since
     * the last response, for graceMs, and still so at the previous sweep (a poll phase runs
     * between two sweeps, so bytes waiting in the kernel have been read by then).
     */
    closeIdle(graceMs: number) {
      const now = Date.now();
      for (const [socket, state] of connections) {
        const idle = state.inFlight === 0 && socket.bytesRead === state.bytesAtIdle && now - state.lastActiveMs >= graceMs;
        if (idle && state.idleSeenBytes === socket.bytesRead) socket.destroy();
        else state.idleSeenBytes = idle ? socket.bytesRead : null;
      }
    },
  };
}

type Tracker = ReturnType<typeof trackConnections>;

/** Resolves after the event loop has been through its poll phase (pending accepts and reads). */
const afterPollPhase = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

/**
 * Accepts the connections the kernel completed before the signal (closing the listener would
 * reset them, with their requests already sent): waits until a poll phase accepts nothing new.
 */
async function acceptBacklog(tracker: Tracker, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = -1;
  while (tracker.accepted !== seen && Date.now() < deadline) {
    seen = tracker.accepted;
    await afterPollPhase();
  }
}

/**
 * Drains the server: stop accepting, let in-flight requests finish (their responses carry
 * Connection: close), close idle connections; resolves true when every connection closed by
 * itself within timeoutMs, false when the rest had to be cut.
 */
async function drain(server: Server, tracker: Tracker, timeoutMs: number, logger: Logger): Promise<boolean> {
  await acceptBacklog(tracker, Math.min(backlogAcceptMaxMs, timeoutMs));
  // net.Server's close: stop listening without http.Server's immediate closeIdleConnections().
  const closed = new Promise<void>((resolve) => { NetServer.prototype.close.call(server, () => resolve()); });
  logger.info('no longer accepting connections; finishing in-flight requests');
  const sweep = setInterval(() => tracker.closeIdle(idleGraceMs), idleSweepIntervalMs);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
  const clean = await Promise.race([closed.then(() => true), timedOut]);
  clearInterval(sweep);
  clearTimeout(timer);
  if (!clean) {
    server.closeAllConnections();
    await closed;
  }
  return clean;
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

  const context: ExtensionContext = { config, redis, ledger, logger };
  const extensions: RuntimeExtension[] = [];
  for (const factory of options.extensions ?? defaultExtensions) extensions.push(await factory(context));

  let shuttingDown = false;
  let server: Server | null = null;
  let tracker: Tracker | null = null;
  let app: Express | null = null;
  let url: string | null = null;
  if (config.roles.includes('api')) {
    app = createApp({ ledger, redis, config, logger, extensions, isShuttingDown: () => shuttingDown });
    server = createServer(app);
    tracker = trackConnections(server);
    server.listen(config.http.port, config.http.host);
    await once(server, 'listening');
    url = displayUrl(server);
    for (const extension of extensions) await extension.attach?.(server);
    logger.info({ url }, `tally listening on ${url}`);
  }
  logger.info({ roles: config.roles }, 'tally started');

  let stopping: Promise<{ forced: boolean }> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      shuttingDown = true;
      const deadline = Date.now() + config.http.shutdownTimeoutMs;
      logger.info({ timeoutMs: config.http.shutdownTimeoutMs }, 'shutting down');
      let forced = server && tracker ? !(await drain(server, tracker, config.http.shutdownTimeoutMs, logger)) : false;
      for (const extension of [...extensions].reverse()) {
        try {
          await withTimeout(extension.stop?.() ?? Promise.resolve(), Math.max(1, deadline - Date.now()), `stopping ${extension.name}`);
        } catch (error) {
          forced = true;
          logger.error({ err: error, extension: extension.name }, 'extension did not stop cleanly');
        }
      }
      try {
        await withTimeout(redis.close(), Math.max(1, deadline - Date.now()), 'closing Redis');
      } catch {
        forced = true;
        redis.destroy();
      }
      logger.info({ forced }, forced ? 'stopped (forced)' : 'stopped');
      return { forced };
    })();
    return stopping;
  };

  return { url, server, app, redis, ledger, logger, stop };
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
