// Paying an airdrop's plan (docs/airdrops.md, Execution): the legs in chunks of `chunkLegs`, one
// `ledger_transfer_batch` per chunk (all its legs or none), in order, each with the opId
// `airdrop:<airdropId>:<chunk>`. The record says how far it got (`chunksDone`), so any runner
// (a retry, another worker, `tally airdrop` run again) resumes at the first chunk not recorded.
//
// Exactly once: a chunk is paid when its batch commits; the record is updated after. A runner
// that dies between the two leaves `chunkStartedAt` set, and the next one sends the chunk again
// with the same opId, which the ledger answers from its record without moving anything. That
// record lasts the token's opTtlSeconds: a chunk in doubt for longer than that since its first
// send (less a margin) is first looked for in the token's log (from `lastEventId`, the entry
// before the chunk was first sent, to the minutes after `chunkSentAt`, its last send), and
// counted as paid when its opId is there.
// Two runners at once are safe too: the same opIds, and progress written only forward
// (compare-and-set on chunksDone).
import type { Ledger } from '../ledger/client.ts';
import type { IpfsStore } from '../snapshots/ipfs-store.ts';
import { sleep } from '../time.ts';
import type { Leg } from './allocation.ts';
import { AirdropInsufficientFundsError, AirdropNotFoundError, InvalidAirdropPlanError } from './errors.ts';
import { readPlan } from './plan.ts';
import { StaleProgressError, type AirdropRecord, type AirdropStore } from './store/airdrop-store.ts';

/** What an airdrop needs of the ledger (src/ledger/client.ts). */
export type AirdropLedger = Pick<Ledger, 'info' | 'balance' | 'transferBatch' | 'events' | 'resolveAt'>;

export interface RunAirdropDeps {
  store: AirdropStore;
  ipfs: IpfsStore;
  ledger: AirdropLedger;
  /** Aborted: stop after the chunk in hand (its progress recorded) and throw the reason. */
  signal?: AbortSignal;
  /** A pause between chunks, to leave the ledger to other traffic (AIRDROP_CHUNK_PAUSE_MS). */
  chunkPauseMs?: number;
  /** After each chunk recorded, with the record as written. */
  onProgress?: (record: AirdropRecord) => void | Promise<void>;
  now?: () => number;
}

/** The opId of one chunk: the same for every runner, so a replayed chunk is a no-op. */
export const chunkOpId = (airdropId: string, chunk: number): string => `airdrop:${airdropId}:${chunk}`;

/** A chunk commits within this long of being sent (the ledger client retries for about 10 s). */
const commitWindowMs = 15 * 60_000;
const logPageEntries = 1_000;

/** How long before the op TTL a chunk in doubt is looked for in the log instead of trusted to its opId. */
export const opTtlMarginMs = (ttlMs: number): number => Math.min(10 * 60_000, Math.floor(ttlMs / 2));

const eventMs = (eventId: string): number => Number(eventId.slice(0, eventId.indexOf('-')));

/**
 * The log entry with `opId`, after `after` and up to commitWindowMs after `sentMs` (the chunk's
 * last send); null when the chunk never committed. Reads pages of the log (each call bounded by
 * the ledger).
 */
export async function findCommittedChunk(ledger: AirdropLedger, symbol: string, opId: string, after: string | null, sentMs: number): Promise<{ eventId: string } | null> {
  let cursor = after ?? '-';
  for (;;) {
    const page = await ledger.events(symbol, { after: cursor, count: logPageEntries });
    for (const event of page.events) {
      if (event.opId === opId) return { eventId: event.id };
      if (eventMs(event.id) > sentMs + commitWindowMs) return null;
    }
    if (page.end || page.next === cursor) return null;
    cursor = page.next;
  }
}

/** Every leg of the plan, checked against the record (count, sum, header) before anything is paid. */
async function verifyPlan(record: AirdropRecord, deps: RunAirdropDeps): Promise<void> {
  const { header, legs } = await readPlan(deps.ipfs.cat(record.planCid, deps.signal ? { signal: deps.signal } : {}));
  const mismatch = (what: string) => new InvalidAirdropPlanError(`plan ${record.planCid} does not match airdrop ${record.airdropId}: ${what}`);
  if (header.symbol !== record.symbol || header.from !== record.from || header.rule !== record.rule || header.total !== record.total
    || header.legs !== record.legs || header.snapshot.cid !== record.snapshotCid) throw mismatch('its header');
  let count = 0;
  let sum = 0n;
  for await (const leg of legs) {
    count += 1;
    sum += leg.amount;
  }
  if (count !== record.legs || String(sum) !== record.total) throw mismatch(`${count} legs summing to ${sum}`);
}

/** The plan's legs in chunks of `size`, numbered from 0. */
async function* chunksOf(legs: AsyncIterable<Leg>, size: number): AsyncGenerator<{ index: number; legs: Leg[] }> {
  let index = 0;
  let chunk: Leg[] = [];
  for await (const leg of legs) {
    chunk.push(leg);
    if (chunk.length === size) { yield { index: index++, legs: chunk }; chunk = []; }
  }
  if (chunk.length > 0) yield { index, legs: chunk };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Records chunk `index` as paid (only if the record is still at it). */
function recordPaid(deps: RunAirdropDeps, record: AirdropRecord, chunk: { index: number; legs: Leg[] }, eventId: string): Promise<AirdropRecord> {
  const amount = chunk.legs.reduce((sum, leg) => sum + leg.amount, 0n);
  return deps.store.update(record.airdropId, {
    chunksDone: chunk.index + 1, paid: record.paid + chunk.legs.length, paidAmount: String(BigInt(record.paidAmount) + amount),
    lastEventId: eventId, chunkStartedAt: null, chunkSentAt: null,
  }, { expectChunksDone: chunk.index });
}

async function payChunk(deps: RunAirdropDeps, record: AirdropRecord, chunk: { index: number; legs: Leg[] }, opTtlMs: number): Promise<AirdropRecord> {
  const { ledger, store } = deps;
  const now = deps.now ?? Date.now;
  const opId = chunkOpId(record.airdropId, chunk.index);
  let current = record;
  if (current.chunkStartedAt !== null) {
    // Sent before, outcome unknown. Within the op TTL of the first send the opId answers for it
    // (a commit, if any, came after that send, so its record lasts at least that long); past it,
    // the log does: an entry with the opId after lastEventId, up to a while after the last send.
    if (now() - Date.parse(current.chunkStartedAt) > opTtlMs - opTtlMarginMs(opTtlMs)) {
      const found = await findCommittedChunk(ledger, current.symbol, opId, current.lastEventId, Date.parse(current.chunkSentAt ?? current.chunkStartedAt));
      if (found) return recordPaid(deps, current, chunk, found.eventId);
    }
    current = await store.update(current.airdropId, { chunkSentAt: iso(now()) }, { expectChunksDone: chunk.index });
  } else {
    const lastEventId = current.lastEventId ?? await ledger.resolveAt(current.symbol);
    const sent = iso(now());
    current = await store.update(current.airdropId, { chunkStartedAt: sent, chunkSentAt: sent, lastEventId }, { expectChunksDone: chunk.index });
  }
  const receipt = await ledger.transferBatch(current.symbol, {
    opId, legs: chunk.legs.map((leg) => ({ from: current.from, to: leg.account, amount: String(leg.amount) })),
  });
  return recordPaid(deps, current, chunk, receipt.eventId);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('the airdrop run was stopped');
}

/** Tries to pay a chunk this many times when other runners keep moving the record under it. */
const staleRetriesMax = 5;

/** The record now, when another runner moved it: null unless it is still running (or done). */
async function reread(store: AirdropStore, airdropId: string): Promise<AirdropRecord | null> {
  const latest = await store.get(airdropId);
  return latest && (latest.status === 'running' || latest.status === 'completed') ? latest : null;
}

/**
 * Runs (or resumes) an airdrop to its end; returns the completed record. Throws what stopped it
 * (the record then keeps its progress; the caller records the failure).
 */
export async function runAirdrop(airdropId: string, deps: RunAirdropDeps): Promise<AirdropRecord> {
  const { store, ledger } = deps;
  const found = await store.get(airdropId);
  if (!found) throw new AirdropNotFoundError(airdropId);
  if (found.status === 'completed') return found;
  let record = await store.update(airdropId, { status: 'running', attempts: found.attempts + 1, error: null }).catch(async (error: unknown) => {
    const latest = await reread(store, airdropId);
    if (latest?.status === 'completed') return latest;
    throw error;
  });
  if (record.status === 'completed') return record;
  await verifyPlan(record, deps);
  const info = await ledger.info(record.symbol);
  if (record.chunkStartedAt === null) {
    const left = BigInt(record.total) - BigInt(record.paidAmount);
    const balance = BigInt(await ledger.balance(record.symbol, record.from));
    if (balance < left) {
      throw new AirdropInsufficientFundsError(record.from, balance, left, 'the legs left to pay need',
        record.paid === 0 ? 'nothing was paid' : `nothing more was paid (${record.paid} of ${record.legs} legs were before)`);
    }
  }
  const { legs } = await readPlan(deps.ipfs.cat(record.planCid, deps.signal ? { signal: deps.signal } : {}));
  for await (const chunk of chunksOf(legs, record.chunkLegs)) {
    for (let tries = 0; record.chunksDone <= chunk.index; tries++) {
      throwIfAborted(deps.signal);
      try {
        record = await payChunk(deps, record, chunk, info.opTtlSeconds * 1000);
      } catch (error) {
        // Another runner moved the record: carry on from what it wrote (the same chunk again is safe: same opId).
        if (!(error instanceof StaleProgressError) || tries >= staleRetriesMax) throw error;
        const latest = await reread(store, airdropId);
        if (!latest) throw error;
        if (latest.status === 'completed') return latest;
        record = latest;
        continue;
      }
      await deps.onProgress?.(record);
      if (deps.chunkPauseMs && record.chunksDone < record.chunks) await sleep(deps.chunkPauseMs, deps.signal).catch(() => {});
    }
  }
  if (record.chunksDone !== record.chunks || record.paid !== record.legs || record.paidAmount !== record.total) {
    throw new InvalidAirdropPlanError(`airdrop ${airdropId} ran out of legs at chunk ${record.chunksDone} of ${record.chunks}`);
  }
  return store.update(airdropId, { status: 'completed' }, { expectChunksDone: record.chunks }).catch(async (error: unknown) => {
    const latest = await reread(store, airdropId);
    if (latest?.status === 'completed') return latest;
    throw error;
  });
}
