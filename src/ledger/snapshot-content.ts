// The content of a ledger snapshot (docs/snapshot-format.md, Ledger snapshots): the Hedera snapshot
// format extended, never broken. Line 1 keeps the eight header keys in their order and appends two
// (`eventId`, `circulatingSupply`); then one `{"account","balance"}` line per holder with a balance
// above 0. The same token and event id give the same bytes, hence the same CID.
//
// Order of the holder lines: accounts that are canonical Hedera ids (`0.0.N`) first, by (shard,
// realm, num) as in a Hedera snapshot; every other account after them, by byte order (accounts
// are ASCII). A ledger of Hedera accounts is thus ordered exactly like a Hedera snapshot.
import { TallyError } from '../errors.ts';
import { splitLines } from '../lines.ts';
import { accountPattern, amountPattern, eventIdPattern, ledgerNetwork, symbolPattern } from '../identifiers.ts';

/** `type` of a ledger snapshot's header (Hedera headers say FUNGIBLE_COMMON and the like). */
export const ledgerSnapshotType = 'TALLY_LEDGER';
/** Holder lines are < 200 characters and the header < 1 KiB; a longer line is not a snapshot. */
const lineCharsMax = 64 * 1024;
/** Holder lines gathered into one chunk of output. */
const linesPerChunk = 1_000;

export interface LedgerSnapshotHeader {
  /** The token symbol (so readers that key snapshots by tokenId keep working). */
  tokenId: string;
  network: typeof ledgerNetwork;
  /** The commit time of `eventId` (its ms part) as `seconds.nanoseconds`. */
  timestamp: string;
  name: string;
  symbol: string;
  decimals: number;
  totalSupply: string;
  type: typeof ledgerSnapshotType;
  /** The log entry the snapshot is consistent at: every entry up to and including it applied. */
  eventId: string;
  circulatingSupply: string;
}

export interface LedgerHolder { account: string; balance: string }

/** Thrown for bytes that are not a ledger snapshot (the checkpoint read back from IPFS). */
export class LedgerSnapshotContentError extends TallyError {
  constructor(message: string) { super('INVALID_SNAPSHOT_CONTENT', message); }
}

const hederaIdPattern = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const holderLinePattern = new RegExp(`^\\{"account":"(${accountPattern.source.slice(1, -1)})","balance":"([1-9][0-9]{0,77})"\\}$`);

/** The holder-line order above: negative when `a` comes first. */
export function compareLedgerAccounts(a: string, b: string): number {
  const x = hederaIdPattern.exec(a);
  const y = hederaIdPattern.exec(b);
  if (x && y) {
    for (let i = 1; i <= 3; i++) {
      const [p, q] = [BigInt(x[i]!), BigInt(y[i]!)];
      if (p !== q) return p < q ? -1 : 1;
    }
    return 0;
  }
  if (x || y) return x ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `ms-seq` -> the ms as `seconds.nanoseconds`. */
export function eventTimestamp(eventId: string): string {
  const ms = BigInt(eventId.split('-')[0]!);
  return `${ms / 1000n}.${String(ms % 1000n).padStart(3, '0')}000000`;
}

export function ledgerHeaderLine(h: Omit<LedgerSnapshotHeader, 'tokenId' | 'network' | 'timestamp' | 'type'>): string {
  const ordered: LedgerSnapshotHeader = {
    tokenId: h.symbol, network: ledgerNetwork, timestamp: eventTimestamp(h.eventId), name: h.name, symbol: h.symbol,
    decimals: h.decimals, totalSupply: h.totalSupply, type: ledgerSnapshotType, eventId: h.eventId, circulatingSupply: h.circulatingSupply,
  };
  return `${JSON.stringify(ordered)}\n`;
}

/** Accounts and digits need no JSON escaping (their rules exclude quotes and backslashes). */
export const ledgerHolderLine = (h: LedgerHolder): string => `{"account":"${h.account}","balance":"${h.balance}"}\n`;

/** Holder lines in chunks of linesPerChunk, as bytes. */
export async function* encodeLines(holders: AsyncIterable<LedgerHolder>, header: string): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  yield encoder.encode(header);
  let text = '';
  let lines = 0;
  for await (const holder of holders) {
    text += ledgerHolderLine(holder);
    if (++lines === linesPerChunk) { yield encoder.encode(text); text = ''; lines = 0; }
  }
  if (text !== '') yield encoder.encode(text);
}

function linesOf(content: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  return splitLines(content, lineCharsMax, (problem) => new LedgerSnapshotContentError(problem === 'tooLong'
    ? `a ledger snapshot line is longer than ${lineCharsMax} characters` : 'the ledger snapshot does not end with a newline'));
}

function parseHeader(line: string | undefined): LedgerSnapshotHeader {
  let h: Partial<LedgerSnapshotHeader>;
  try {
    h = JSON.parse(line ?? '') as Partial<LedgerSnapshotHeader>;
  } catch {
    throw new LedgerSnapshotContentError('line 1 of the ledger snapshot is not a JSON header');
  }
  const ok = h !== null && typeof h === 'object' && h.network === ledgerNetwork && h.type === ledgerSnapshotType
    && typeof h.symbol === 'string' && symbolPattern.test(h.symbol) && typeof h.eventId === 'string' && eventIdPattern.test(h.eventId)
    && typeof h.name === 'string' && Number.isSafeInteger(h.decimals)
    && typeof h.totalSupply === 'string' && amountPattern.test(h.totalSupply) && typeof h.circulatingSupply === 'string' && amountPattern.test(h.circulatingSupply);
  if (!ok) throw new LedgerSnapshotContentError('line 1 is not the header of a ledger snapshot');
  return h as LedgerSnapshotHeader;
}

/**
 * Reads ledger snapshot bytes as they stream: the header first, then the holders in file order
 * (checked strictly ascending, so a merge against them is exact). Memory: one chunk and one line.
 */
export async function readLedgerSnapshot(content: AsyncIterable<Uint8Array>): Promise<{ header: LedgerSnapshotHeader; holders: AsyncGenerator<LedgerHolder> }> {
  const lines = linesOf(content);
  const first = await lines.next();
  const header = parseHeader(first.done ? undefined : first.value);
  const holders = (async function* () {
    let previous: string | null = null;
    let number = 1;
    for await (const line of lines) {
      number += 1;
      const match = holderLinePattern.exec(line);
      if (!match) throw new LedgerSnapshotContentError(`line ${number} of the ledger snapshot is not a holder line`);
      if (previous !== null && compareLedgerAccounts(previous, match[1]!) >= 0) throw new LedgerSnapshotContentError(`line ${number}: holders out of order`);
      previous = match[1]!;
      yield { account: match[1]!, balance: match[2]! };
    }
  })();
  return { header, holders };
}
