// The diff of two snapshots of one token (docs/snapshot-products.md): who gained, lost or changed
// a balance between them, as NDJSON. Both snapshots stream from IPFS side by side (their holders
// are in account order, so one merge pass finds every difference): memory stays bounded by a line
// whatever the sizes. Line 1 names the two contents by CID, never by snapshot id, so the same two
// contents always give the same bytes and the same CID.
import { SnapshotsNotComparableError } from './errors.ts';
import { compareEntityIds, parseEntityId } from './hedera-ids.ts';
import type { IpfsStore } from './ipfs-store.ts';
import { readSnapshot, type Holder } from './snapshot-format.ts';
import type { SnapshotRecord } from './store/metadata-store.ts';

export type Change = 'gained' | 'lost' | 'changed';

export interface DiffCounts { gained: number; lost: number; changed: number }

/** Lines buffered before one chunk is yielded. */
const batchLines = 1000;

type Completed = SnapshotRecord & { cid: string };

/** Refuses pairs a diff means nothing for: another token, a combination. */
export function assertComparable(from: Completed, to: Completed): void {
  if (from.combination || to.combination) throw new SnapshotsNotComparableError('a diff compares snapshots of one token; combinations have no single balance per holder');
  if (from.tokenId !== to.tokenId) throw new SnapshotsNotComparableError(`snapshot ${from.snapshotId} is of token ${from.tokenId}, snapshot ${to.snapshotId} of ${to.tokenId}`);
}

function diffHeader(from: Completed, to: Completed): string {
  return `${JSON.stringify({ diff: 'holders', tokenId: from.tokenId, network: from.network,
    from: { cid: from.cid, timestamp: from.consensusTimestamp }, to: { cid: to.cid, timestamp: to.consensusTimestamp } })}\n`;
}

function changeLine(account: string, change: Change, before: string, after: string): string {
  return `{"account":"${account}","change":"${change}","old":"${before}","new":"${after}"}\n`;
}

/** The diff's bytes; `counts` fills in as they are read. */
export async function* diffLines(ipfs: IpfsStore, from: Completed, to: Completed, counts: DiffCounts): AsyncGenerator<Uint8Array> {
  assertComparable(from, to);
  const a = (await readSnapshot(ipfs.cat(from.cid))).holders;
  const b = (await readSnapshot(ipfs.cat(to.cid))).holders;
  let text = diffHeader(from, to);
  let lines = 0;
  let left = await a.next();
  let right = await b.next();
  while (!left.done || !right.done) {
    const order = left.done ? 1 : right.done ? -1 : compareAccounts(left.value, right.value);
    if (order < 0) {
      text += changeLine(left.value!.account, 'lost', left.value!.balance, '0');
      counts.lost += 1;
      left = await a.next();
    } else if (order > 0) {
      text += changeLine(right.value!.account, 'gained', '0', right.value!.balance);
      counts.gained += 1;
      right = await b.next();
    } else {
      if (left.value!.balance !== right.value!.balance) {
        text += changeLine(left.value!.account, 'changed', left.value!.balance, right.value!.balance);
        counts.changed += 1;
      }
      left = await a.next();
      right = await b.next();
    }
    if (++lines % batchLines === 0) { yield Buffer.from(text); text = ''; }
  }
  yield Buffer.from(text);
}

function compareAccounts(x: Holder, y: Holder): number {
  return compareEntityIds(parseEntityId(x.account), parseEntityId(y.account));
}
