// What a snapshot job reports while it runs: docs/socket-io.md's `snapshots_events`. The snapshot service
// emits through a SnapshotEventSink it is given; src/realtime/snapshot-events.ts implements
// the sink over Socket.IO (any process, any API instance), tests may collect events in memory.
// `holders` in snapshots_progress (the holders written so far) extends the original module's payload.

export type SnapshotEvent =
  | { type: 'snapshots_active'; payload: { jobId: string; jobName: string; snapshotId: string; status: 'activated'; progress: 0 } }
  | { type: 'snapshots_progress'; payload: { jobId: string; jobName: string; snapshotId: string; status: 'running'; progress: number; holders?: number } }
  | { type: 'snapshots_completed'; payload: { jobId: string; jobName: string; snapshotId: string; status: 'completed'; progress: 100; cid: string } }
  | { type: 'snapshots_failed'; payload: { jobId: string; jobName: string; snapshotId: string; status: 'error'; error: string } };

export interface SnapshotEventSink {
  /** At most once: an event that cannot be delivered is dropped (the store has the state). */
  emit(event: SnapshotEvent, requestedBy: string | undefined): void;
}
