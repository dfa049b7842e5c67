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

const redisConnectTimeoutMs = 15_000;
const idleSweepIntervalMs = 50;
/** A connection without a request for this long is closed during a drain (a keep-alive client may still be sending one). */
const idleGraceMs = 500;

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
export const defaultExtensions: ExtensionFactory[] = [];

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

function displayUrl(server: Server): string {
  const { address, port } = server.address() as AddressInfo;
  const host = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '[::1]' : address.includes(':') ? `[${address}]` : address;
  return `http://${host}:${port}`;
}

/**
 * Tracks each connection's in-flight requests and last activity, for a drain that never cuts a
 * request: Node's server.close() also closes "idle" connections, and a connection accepted just
 * before it whose request bytes are not parsed yet counts as idle, so its request would be lost.
 */
function trackConnections(server: Server) {
  const connections = new Map<Socket, { inFlight: number; lastActiveMs: number }>();
  server.on('connection', (socket: Socket) => {
    connections.set(socket, { inFlight: 0, lastActiveMs: Date.now() });
    socket.once('close', () => connections.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const state = connections.get(req.socket);
    if (!state) return;
    state.inFlight += 1;
    res.once('close', () => {
      state.inFlight -= 1;
      state.lastActiveMs = Date.now();
    });
  });
  return {
    /** Destroys connections without a request in flight for at least graceMs. */
    closeIdle(graceMs: number) {
      const now = Date.now();
      for (const [socket, state] of connections) {
        if (state.inFlight === 0 && now - state.lastActiveMs >= graceMs) socket.destroy();
      }
    },
    get size() { return connections.size; },
  };
}

type Tracker = ReturnType<typeof trackConnections>;

/**
 * Drains the server: stop accepting, let in-flight requests finish (their responses carry
 * Connection: close), close connections idle for idleGraceMs; resolves true when every
 * connection closed by itself within timeoutMs, false when the rest had to be cut.
 */
async function drain(server: Server, tracker: Tracker, timeoutMs: number): Promise<boolean> {
  // net.Server's close: stop listening without http.Server's immediate closeIdleConnections().
  const closed = new Promise<void>((resolve) => { NetServer.prototype.close.call(server, () => resolve()); });
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
  const redis = await withTimeout(connectRedis(config.redis), redisConnectTimeoutMs, 'connecting to Redis');
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

  let stopping: Promise<{ forced: boolean }> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      shuttingDown = true;
      const deadline = Date.now() + config.http.shutdownTimeoutMs;
      logger.info({ timeoutMs: config.http.shutdownTimeoutMs }, 'shutting down: finishing in-flight requests');
      let forced = server && tracker ? !(await drain(server, tracker, config.http.shutdownTimeoutMs)) : false;
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
