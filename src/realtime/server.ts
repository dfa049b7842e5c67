// Socket.IO on the API's HTTP server: namespaces /snapshots and /ledger, both authenticated by a
// JWT in the handshake, shared between API instances through @socket.io/redis-adapter.
//
// Delivery rules:
// - /snapshots events are emitted by the snapshot jobs through the Redis emitter (any process)
//   to rooms; the adapter on every API instance hands them to its own sockets, once each.
// - /ledger events come from the Redis Pub/Sub channels the ledger functions publish to; every
//   instance subscribes itself and relays to its own sockets only (`nsp.local`), so nothing is
//   delivered twice.
import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type { RedisClientType } from 'redis';
import type { Logger } from '../logger.ts';
import type { JwtVerifier } from '../auth/jwt.ts';
import { attachLedgerNamespace } from './ledger-namespace.ts';
import { attachSnapshotsNamespace, type SnapshotReader } from './snapshots-namespace.ts';
import { catchPublishErrors } from './snapshot-events.ts';
import { requireToken, unauthorized } from './socket-auth.ts';

const socketMessageBytesMax = 16 * 1024;

export interface RealtimeDeps {
  httpServer: HttpServer;
  /** A plain (non-cluster) client used to create the adapter's and the relay's connections. */
  pubsub: RedisClientType;
  verifier: JwtVerifier;
  logger: Logger;
  /** Checks that a snapshot exists before a client may follow it; absent: /snapshots only serves own rooms. */
  snapshots?: SnapshotReader;
  /** Checks that a token exists before a client may subscribe to it. */
  tokenExists: (symbol: string) => Promise<boolean>;
  /** Key prefix of the Socket.IO adapter channels (one per deployment). */
  channelPrefix?: string;
}

export interface Realtime {
  io: Server;
  /**
   * Throws unless every Redis connection of Socket.IO (adapter, relay) is connected and, for
   * subscribers, subscribed again: node-redis resubscribes after a reconnect, but messages
   * published before that are not delivered (Pub/Sub is at-most-once), so /readyz waits for it.
   */
  ready(): Promise<string>;
  close(): Promise<void>;
}

export async function createRealtime(deps: RealtimeDeps): Promise<Realtime> {
  const adapterPub = catchPublishErrors(deps.pubsub.duplicate());
  const adapterSub = deps.pubsub.duplicate();
  const relaySub = deps.pubsub.duplicate();
  for (const client of [adapterPub, adapterSub, relaySub]) {
    client.on('error', (error: Error) => deps.logger.warn({ err: { message: error.message } }, 'realtime redis connection error'));
  }
  await Promise.all([adapterPub.connect(), adapterSub.connect(), relaySub.connect()]);

  const io = new Server(deps.httpServer, {
    adapter: createAdapter(adapterPub, adapterSub, { key: deps.channelPrefix ?? 'socket.io' }),
    maxHttpBufferSize: socketMessageBytesMax,
    serveClient: false,
    cors: { origin: false },
  });
  // The default namespace serves nothing.
  io.of('/').use((_socket, next) => next(unauthorized()));

  const snapshots = io.of('/snapshots');
  requireToken(snapshots, deps.verifier);
  attachSnapshotsNamespace(snapshots, deps.snapshots);

  const ledger = io.of('/ledger');
  requireToken(ledger, deps.verifier);
  const relay = attachLedgerNamespace(ledger, relaySub, deps.tokenExists, deps.logger);

  const connections = { adapterPub, adapterSub, relaySub };
  return {
    io,
    async ready() {
      const down = Object.entries(connections).filter(([, client]) => !client.isReady).map(([name]) => name);
      if (down.length > 0) throw new Error(`not connected: ${down.join(', ')}`);
      return 'adapter and relay subscribed';
    },
    async close() {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await relay.close();
      await Promise.allSettled([adapterPub.close(), adapterSub.close(), relaySub.close()]);
    },
  };
}
