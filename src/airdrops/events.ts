// What an airdrop job reports while it runs: docs/socket-io.md's `airdrops_events`, the snapshot
// event contract (src/snapshots/events.ts) under its own name and types. The airdrop service emits
// through an AirdropEventSink it is given; src/realtime/airdrop-events.ts implements it over
// Socket.IO, tests may collect events in memory. `progress` is the share of the legs paid (0..100).

interface Base { jobId: string; jobName: string; airdropId: string; symbol: string }

export type AirdropEvent =
  | { type: 'airdrops_active'; payload: Base & { status: 'activated'; progress: number; paid: number; legs: number } }
  | { type: 'airdrops_progress'; payload: Base & { status: 'running'; progress: number; paid: number; legs: number } }
  | { type: 'airdrops_completed'; payload: Base & { status: 'completed'; progress: 100; paid: number; legs: number; total: string; planCid: string } }
  | { type: 'airdrops_failed'; payload: Base & { status: 'error'; error: string; code: string; paid: number; legs: number } };

export interface AirdropEventSink {
  /** At most once: an event that cannot be delivered is dropped (the store has the state). */
  emit(event: AirdropEvent, requestedBy: string | undefined): void;
}

/** The share of the legs paid, 0..100, rounded down (100 only once every leg is paid). */
export const progressOf = (paid: number, legs: number): number => (legs === 0 ? 100 : Math.floor((paid * 100) / legs));
