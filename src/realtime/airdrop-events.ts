// Emits `airdrops_events` (src/airdrops/events.ts, docs/socket-io.md) from any process through the
// Socket.IO Redis emitter, on the /snapshots namespace beside `snapshots_events`: to the airdrop's
// room, the admins' room and the requester's room. Airdrops are an admin's business, so every
// admin socket receives them all.
import { Emitter } from '@socket.io/redis-emitter';
import type { RedisClientType } from 'redis';
import type { AirdropEventSink } from '../airdrops/events.ts';
import { catchPublishErrors } from './snapshot-events.ts';
import { snapshotRooms } from './snapshots-namespace.ts';

export const airdropRoom = (airdropId: string): string => `airdrop:${airdropId}`;

/** `pub` must be a plain client that is not in subscriber mode; its publish() is made safe. */
export function createAirdropEventEmitter(pub: RedisClientType, channelPrefix = 'socket.io', onError?: (error: Error) => void): AirdropEventSink {
  const nsp = new Emitter(catchPublishErrors(pub, onError), { key: channelPrefix }).of('/snapshots');
  return {
    emit(event, requestedBy) {
      const rooms = [airdropRoom(event.payload.airdropId), snapshotRooms.admins];
      if (requestedBy) rooms.push(snapshotRooms.user(requestedBy));
      nsp.to(rooms).emit('airdrops_events', event);
    },
  };
}
