// Live updates over Socket.IO (docs/socket-io.md): /ledger for transfers and burns of the tokens
// a view follows, /snapshots for snapshot progress. Both sockets share one connection and
// reconnect by themselves after the server restarts; the server forgets subscriptions with the
// connection, so they are sent again on every connect, and views refresh what they show
// (events published while the page was disconnected are not replayed).
import { io } from '/dashboard/vendor/socket.io.esm.min.js';

const serverDisconnectRetryMs = 1_000;

export function createLive(token, { onStatus, onUnauthorized }) {
  const options = { auth: { accessToken: token }, reconnectionDelay: 500, reconnectionDelayMax: 5_000, timeout: 10_000 };
  const ledger = io('/ledger', options);
  const snapshots = io('/snapshots', options);
  const tokenHandlers = new Map(); // symbol -> Set<handler>
  const followedSnapshots = new Set();
  const snapshotHandlers = new Set();
  const reconnectHandlers = new Set();
  let everConnected = false;
  let closed = false;
  let lastStatus = '';

  const report = () => {
    const status = ledger.connected && snapshots.connected ? 'live' : ledger.active || snapshots.active ? 'reconnecting' : 'offline';
    if (status === lastStatus) return;
    lastStatus = status;
    onStatus(status);
  };

  const subscribeToken = (symbol) => ledger.emit('subscribe', symbol, () => {});
  const subscribeSnapshot = (id) => snapshots.emit('subscribe', id, () => {});

  ledger.on('connect', () => {
    for (const symbol of tokenHandlers.keys()) subscribeToken(symbol);
    report();
    onConnected();
  });
  snapshots.on('connect', () => {
    for (const id of followedSnapshots) subscribeSnapshot(id);
    report();
    onConnected();
  });
  function onConnected() {
    if (!(ledger.connected && snapshots.connected)) return;
    if (everConnected) for (const handler of reconnectHandlers) handler();
    everConnected = true;
  }
  for (const socket of [ledger, snapshots]) {
    socket.on('disconnect', (reason) => {
      report();
      // The server ended this socket (its token expired, or the server is stopping): Socket.IO
      // does not retry that by itself. Try again; a refused token ends in connect_error below.
      if (reason === 'io server disconnect') setTimeout(() => { if (!closed) socket.connect(); }, serverDisconnectRetryMs);
    });
    socket.on('connect_error', (error) => {
      report();
      if (error?.message === 'unauthorized') onUnauthorized('the live connection refused the token');
    });
  }
  for (const type of ['transfer', 'burn']) {
    ledger.on(type, (event) => {
      for (const handler of tokenHandlers.get(event?.token) ?? []) handler(type, event);
    });
  }
  snapshots.on('snapshots_events', (event) => {
    for (const handler of snapshotHandlers) handler(event);
  });

  return {
    /** Calls handler(type, event) for the token's transfers and burns; returns the unfollow. */
    followToken(symbol, handler) {
      let handlers = tokenHandlers.get(symbol);
      if (!handlers) {
        handlers = new Set();
        tokenHandlers.set(symbol, handlers);
        if (ledger.connected) subscribeToken(symbol);
      }
      handlers.add(handler);
      return () => {
        handlers.delete(handler);
        if (handlers.size === 0) tokenHandlers.delete(symbol); // not followed again after a reconnect
      };
    },
    /** Receives the events of the snapshots the caller requested (admins: all) and of those followed. */
    onSnapshotEvent(handler) {
      snapshotHandlers.add(handler);
      return () => snapshotHandlers.delete(handler);
    },
    followSnapshot(id) {
      if (followedSnapshots.has(id)) return;
      followedSnapshots.add(id);
      if (snapshots.connected) subscribeSnapshot(id);
    },
    /** Called after the connection came back (not on the first connect). */
    onReconnect(handler) {
      reconnectHandlers.add(handler);
      return () => reconnectHandlers.delete(handler);
    },
    close() {
      closed = true;
      ledger.disconnect();
      snapshots.disconnect();
    },
  };
}
