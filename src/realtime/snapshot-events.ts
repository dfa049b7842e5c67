// Emits `snapshots_events` from any process (API or worker) through the Socket.IO Redis
// emitter: the adapter of every API instance delivers each event to its own sockets in the
// snapshot's rooms, once per socket. Payloads are exactly docs/socket-io.md's (src/snapshots/events.ts).
import { Emitter } from '@socket.io/redis-emitter';
import type { RedisClientType } from 'redis';
import type { SnapshotEventSink } from '../snapshots/events.ts';
import { snapshotRooms } from './snapshots-namespace.ts';

/**
 * A client whose publish() never rejects. The Socket.IO emitter and adapter call publish()
 * without handling its promise, so a publish in flight when Redis dies (ECONNRESET) was an
 * unhandled rejection, which ends the process. Events are at-most-once anyway: report, drop.
 */
export function catchPublishErrors<T extends RedisClientType>(client: T, onError: (error: Error) => void = () => {}): T {
  const publish = client.publish.bind(client);
  const safePublish = (channel: string, message: string) => publish(channel, message).catch((error: Error) => {
    onError(error);
    return 0;
  });
  return Object.assign(client, { publish: safePublish });
}

/** `pub` must be a plain client that is not in subscriber mode; its publish() is made safe (above). */
export function createSnapshotEventEmitter(pub: RedisClientType, channelPrefix = 'socket.io', onError?: (error: Error) => void): SnapshotEventSink {
  const nsp = new Emitter(catchPublishErrors(pub, onError), { key: channelPrefix }).of('/snapshots');
  return {
    emit(event, requestedBy) {
      const rooms = [snapshotRooms.snapshot(event.payload.snapshotId), snapshotRooms.admins];
      if (requestedBy) rooms.push(snapshotRooms.user(requestedBy));
      nsp.to(rooms).emit('snapshots_events', event);
    },
  };
}
