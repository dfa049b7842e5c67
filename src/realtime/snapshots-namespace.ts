// /snapshots: every socket joins its user's room (and `admins` for admins), so it receives the
// events of the snapshots it requested, or all of them. `subscribe(snapshotId, ack)` follows
// any snapshot the caller may read (every authenticated user may read every snapshot).
import type { Namespace } from 'socket.io';
import { TallyError, type ErrorCode } from '../errors.ts';
import { idPattern } from '../snapshots/store/metadata-store.ts';
import type { AuthedSocket } from './socket-auth.ts';

const snapshotsPerSocketMax = 100;

export interface SnapshotReader {
  exists(snapshotId: string): Promise<boolean>;
}

export const snapshotRooms = {
  user: (account: string) => `user:${account}`,
  admins: 'admins',
  snapshot: (snapshotId: string) => `snapshot:${snapshotId}`,
};

// Ack codes are catalog codes (src/errors.ts), like the REST error bodies.
type Ack = (reply: { ok: true } | { error: { code: ErrorCode; message: string } }) => void;

/** A reader that says "not found" by throwing is answered NOT_FOUND; only a failing store is UNAVAILABLE. */
function readFailure(error: unknown, snapshotId: string): { code: ErrorCode; message: string } {
  if (error instanceof TallyError && (error.code === 'SNAPSHOT_NOT_FOUND' || error.code === 'NOT_FOUND')) {
    return { code: 'NOT_FOUND', message: `snapshot ${snapshotId} does not exist` };
  }
  if (error instanceof TallyError && !error.retryable) return { code: error.code, message: error.message };
  return { code: 'UNAVAILABLE', message: 'the snapshot store is unavailable, try again' };
}

export function attachSnapshotsNamespace(nsp: Namespace, snapshots: SnapshotReader | undefined): void {
  nsp.on('connection', (rawSocket) => {
    const socket = rawSocket as AuthedSocket;
    const { caller } = socket.data.auth;
    void socket.join(caller.admin ? [snapshotRooms.user(caller.account), snapshotRooms.admins] : snapshotRooms.user(caller.account));
    let followed = 0;
    socket.on('subscribe', async (snapshotId: unknown, ack?: Ack) => {
      const reply: Ack = typeof ack === 'function' ? ack : () => {};
      if (typeof snapshotId !== 'string' || !idPattern.test(snapshotId)) {
        return reply({ error: { code: 'INVALID_ARGUMENT', message: 'snapshotId must be a snapshot id (a lowercase UUIDv7)' } });
      }
      if (followed >= snapshotsPerSocketMax) {
        return reply({ error: { code: 'INVALID_ARGUMENT', message: `a socket may follow at most ${snapshotsPerSocketMax} snapshots` } });
      }
      try {
        if (!snapshots || !(await snapshots.exists(snapshotId))) {
          return reply({ error: { code: 'NOT_FOUND', message: `snapshot ${snapshotId} does not exist` } });
        }
        followed++;
        await socket.join(snapshotRooms.snapshot(snapshotId));
        reply({ ok: true });
      } catch (error) {
        reply({ error: readFailure(error, snapshotId) });
      }
    });
  });
}
