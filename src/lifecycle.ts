// The HTTP server's life: listen, track every connection's in-flight requests, and drain on
// shutdown without cutting a request (refuse new connections, let in-flight requests finish,
// close keep-alive connections as they go idle; cut the rest at the deadline).
import { once } from 'node:events';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { answerClientErrors } from './http/client-errors.ts';
import type { Logger } from './logger.ts';

const idleSweepIntervalMs = 50;
/** During a drain, a connection without a request for this long is closed. */
const idleGraceMs = 250;
const backlogAcceptMaxMs = 2_000;

export interface Listening {
  server: Server;
  /** http://host:port */
  url: string;
  /** Resolves true when every connection closed by itself within timeoutMs, false when some were cut. */
  drain(timeoutMs: number): Promise<boolean>;
}

/** Serves handler on port and host; resolves once listening. */
export async function listen(handler: RequestListener, port: number, host: string, logger: Logger): Promise<Listening> {
  const server = createServer(handler);
  answerClientErrors(server);
  const tracker = trackConnections(server);
  server.listen(port, host);
  await once(server, 'listening');
  return { server, url: displayUrl(server), drain: (timeoutMs) => drain(server, tracker, timeoutMs, logger) };
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
  interface State { inFlight: number; lastActiveMs: number; bytesAtIdle: number; idleSeenBytes: number | null; upgraded: boolean }
  const connections = new Map<Socket, State>();
  let accepted = 0;
  server.on('connection', (socket: Socket) => {
    accepted += 1;
    connections.set(socket, { inFlight: 0, lastActiveMs: Date.now(), bytesAtIdle: 0, idleSeenBytes: null, upgraded: false });
    socket.once('close', () => connections.delete(socket));
  });
  // A WebSocket (Socket.IO) leaves HTTP: Node's closeAllConnections no longer sees it, and it
  // never goes idle by bytes (pings). It carries no request to finish, so a drain closes it at
  // once; Socket.IO clients reconnect (to another instance, or this one restarted).
  server.on('upgrade', (req: IncomingMessage) => {
    const state = connections.get(req.socket);
    if (state) state.upgraded = true;
  });
  const counted = new WeakSet<IncomingMessage>();
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const state = connections.get(req.socket);
    if (!state || counted.has(req)) return;
    counted.add(req);
    state.inFlight += 1;
    res.once('close', () => {
      state.inFlight -= 1;
      state.lastActiveMs = Date.now();
      state.bytesAtIdle = req.socket.bytesRead;
    });
  };
  server.on('request', onRequest);
  // Socket.IO's engine takes every 'request' listener off when it attaches and calls them only
  // for requests that are not its own, so its polling requests went uncounted and their
  // connections never looked idle (a drain then waited for its deadline). Put this one back,
  // after the engine's: it sees every request (the WeakSet keeps it from counting one twice).
  server.on('removeListener', (event: string | symbol, listener: unknown) => {
    if (event !== 'request' || listener !== onRequest) return;
    queueMicrotask(() => { if (!server.listeners('request').includes(onRequest)) server.on('request', onRequest); });
  });
  return {
    get accepted() { return accepted; },
    /** At the deadline: every connection, also those Node's http.Server no longer tracks. */
    destroyAll() {
      for (const socket of connections.keys()) socket.destroy();
    },
    /**
     * Destroys connections that are idle: no request in flight, no request bytes received since
     * the last response, for graceMs, and still so at the previous sweep (a poll phase runs
     * between two sweeps, so bytes waiting in the kernel have been read by then).
     */
    closeIdle(graceMs: number) {
      const now = Date.now();
      for (const [socket, state] of connections) {
        if (state.upgraded) {
          socket.destroy();
          continue;
        }
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
    tracker.destroyAll();
    await closed;
  }
  return clean;
}
