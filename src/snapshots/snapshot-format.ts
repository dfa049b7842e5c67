// The snapshot content contract (docs/snapshot-format.md): UTF-8 NDJSON, `\n` line ends, no spaces, keys in
// a fixed order. Line 1 describes the token and timestamp; then one line per holder with a
// balance > 0, sorted by (shard, realm, num). The same token and timestamp must give the same
// bytes, hence the same CID, so every byte here is deliberate.

import { Transform } from 'node:stream';
import { splitLines } from '../lines.ts';
import { SnapshotFormatError } from './errors.ts';
import { compareEntityIds, isCanonicalEntityId, parseEntityId, timestampPattern } from './hedera-ids.ts';
import type { EntityId } from './hedera-ids.ts';

export interface SnapshotHeader {
  tokenId: string;
  /** `mainnet` | `testnet` | `previewnet`, or null for a custom mirror node with no network. */
  network: string | null;
  /** Consensus timestamp of the balances, `seconds.nanoseconds` as the mirror node writes it. */
  timestamp: string;
  name: string;
  symbol: string;
  decimals: number;
  totalSupply: string;
  type: string;
  /** Only when the snapshot was filtered: the filters as applied (`treasury` resolved). */
  filters?: HeaderFilters;
}

/** The filters as line 1 records them, keys in this order, absent ones left out. */
export interface HeaderFilters {
  minBalance?: string;
  /** Canonical account ids in account order. */
  exclude?: string[];
  minCount?: number;
}

export interface Holder {
  account: string;
  balance: string;
}

/** The CSV rendering's first line (`Accept: text/csv`). */
export const csvHeaderLine = 'account,balance\n';
/** An NFT snapshot's CSV adds its serials, separated by spaces. */
export const csvNftHeaderLine = 'account,balance,serials\n';
/**
 * Fungible holder lines are < 100 chars and the header < 2 KiB, but an NFT holder's line lists its
 * serials (17 chars each at most): 16 MiB holds about a million. A longer line is not a snapshot.
 */
export const lineCharsMax = 16 * 1024 * 1024;

const amountPattern = /^(0|[1-9][0-9]*)$/;
const positiveAmountPattern = /^[1-9][0-9]*$/;
/** Amounts are at most 78 digits (docs/ledger-functions.md). */
const amountDigitsMax = 78;
/**
 * A holder line exactly as holderLine writes it, or as a ledger snapshot does (its accounts follow
 * the ledger's account rule, which has no comma or quote); a regex keeps the CSV path strict and fast.
 */
const holderLinePattern = /^\{"account":"((?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)|[A-Za-z0-9][A-Za-z0-9._:@-]{0,127})","balance":"([1-9]\d*)"(?:,"serials":\[([1-9]\d*(?:,[1-9]\d*)*)\])?\}$/;

/** Line 1, keys in contract order, ending in `\n`. */
export function headerLine(header: SnapshotHeader): string {
  assertHeader(header);
  // A fresh object literal fixes the key order whatever order the caller's object has.
  const ordered = {
    tokenId: header.tokenId,
    network: header.network,
    timestamp: header.timestamp,
    name: header.name,
    symbol: header.symbol,
    decimals: header.decimals,
    totalSupply: header.totalSupply,
    type: header.type,
    // Absent for an unfiltered snapshot, whose bytes stay those of the original format.
    ...(header.filters ? { filters: orderedFilters(header.filters) } : {}),
  };
  return `${JSON.stringify(ordered)}\n`;
}

function orderedFilters(filters: HeaderFilters): HeaderFilters {
  return {
    ...(filters.minBalance !== undefined ? { minBalance: filters.minBalance } : {}),
    ...(filters.exclude !== undefined ? { exclude: filters.exclude } : {}),
    ...(filters.minCount !== undefined ? { minCount: filters.minCount } : {}),
  };
}

/** One holder line, `{"account":"0.0.N","balance":"<integer>"}\n`; balance must be > 0. */
export function holderLine(holder: Holder): string {
  if (!isCanonicalEntityId(holder.account)) {
    throw new SnapshotFormatError(`holder account ${JSON.stringify(holder.account)} is not a canonical Hedera id`);
  }
  if (!isPositiveAmount(holder.balance)) {
    throw new SnapshotFormatError(`balance ${JSON.stringify(holder.balance)} of ${holder.account} is not an integer > 0`);
  }
  // Validated ids and digits need no JSON escaping, so concatenation is exact and cheap.
  return `{"account":"${holder.account}","balance":"${holder.balance}"}\n`;
}

/** An NFT holder line: the holder line with `"serials":[...]` (ascending) after the balance, which is their count. */
export function nftHolderLine(holder: Holder, serials: readonly number[]): string {
  const line = holderLine(holder);
  if (BigInt(serials.length) !== BigInt(holder.balance)) throw new SnapshotFormatError(`${holder.account} holds ${holder.balance}, not ${serials.length} serials`);
  for (let i = 0; i < serials.length; i++) {
    if (!Number.isSafeInteger(serials[i]) || serials[i]! < 1 || (i > 0 && serials[i]! <= serials[i - 1]!)) throw new SnapshotFormatError(`serials of ${holder.account} must be ascending integers >= 1`);
  }
  return `${line.slice(0, -2)},"serials":[${serials.join(',')}]}\n`;
}

/**
 * The whole snapshot as a byte stream: the header, then one chunk per batch of holders. Holders
 * must arrive strictly ascending by (shard, realm, num); anything else is a broken invariant
 * upstream and would change the bytes, so it throws instead of sorting (sorting would need
 * the whole snapshot in memory).
 */
export async function* encodeSnapshot(
  header: SnapshotHeader,
  holderBatches: AsyncIterable<readonly Holder[]> | Iterable<readonly Holder[]>,
): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  yield encoder.encode(headerLine(header));
  let previous: EntityId | null = null;
  for await (const batch of holderBatches) {
    let text = '';
    for (const holder of batch) {
      const line = holderLine(holder);
      const current = parseEntityId(holder.account);
      if (previous !== null && compareEntityIds(previous, current) >= 0) {
        throw new SnapshotFormatError(`holders out of order: ${current.id} after ${previous.id}`);
      }
      previous = current;
      text += line;
    }
    if (text !== '') yield encoder.encode(text);
  }
}

/**
 * A byte stream transform from snapshot NDJSON to CSV: `account,balance` then one row per
 * holder. Streams line by line, so memory stays bounded by lineCharsMax whatever the size.
 */
export function ndjsonToCsv(): Transform {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const state: CsvState = { pending: '', lines: 0, nft: false, tokens: null };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        callback(null, convertText(state, decoder.decode(chunk, { stream: true })));
      } catch (error) {
        callback(asFormatError(error));
      }
    },
    flush(callback) {
      try {
        const rest = convertText(state, decoder.decode());
        if (state.pending !== '') throw new SnapshotFormatError('snapshot does not end with a newline');
        if (state.lines === 0) throw new SnapshotFormatError('snapshot is empty');
        callback(null, rest);
      } catch (error) {
        callback(asFormatError(error));
      }
    },
  });
}

interface CsvState {
  pending: string;
  lines: number;
  nft: boolean;
  /** A combination's token ids, in the order of its balances; null for a snapshot of one token. */
  tokens: string[] | null;
}

function convertText(state: CsvState, text: string): string {
  const parts = (state.pending + text).split('\n');
  state.pending = parts.pop() ?? '';
  if (state.pending.length > lineCharsMax) {
    throw new SnapshotFormatError(`snapshot line ${state.lines + 1} is longer than ${lineCharsMax} characters`);
  }
  let out = '';
  for (const line of parts) {
    state.lines += 1;
    out += state.lines === 1 ? csvFromHeader(line, state) : state.tokens ? csvFromCombined(line, state.lines, state.tokens) : csvFromHolder(line, state.lines, state.nft);
  }
  return out;
}

/** The lines of a byte stream, without their `\n`; a line longer than `charsMax` is an error. */
export function textLines(source: AsyncIterable<Uint8Array>, charsMax = lineCharsMax): AsyncGenerator<string> {
  return splitLines(source, charsMax, (problem) => new SnapshotFormatError(problem === 'tooLong'
    ? `a line is longer than ${charsMax} characters` : 'the content does not end with a newline'));
}

/** A holder line's account and balance (a line may carry more after them, such as NFT serials). */
const holderPrefixPattern = /^\{"account":"((?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*))","balance":"([1-9]\d{0,77})"[,}]/;

export function parseHolderLine(line: string, lineNumber: number): Holder {
  const match = holderPrefixPattern.exec(line);
  if (match === null) throw new SnapshotFormatError(`snapshot line ${lineNumber} is not a holder line`);
  return { account: match[1]!, balance: match[2]! };
}

/** The header (line 1) and the holders of snapshot bytes, holders read lazily. */
export async function readSnapshot(source: AsyncIterable<Uint8Array>): Promise<{ header: Record<string, unknown>; holders: AsyncGenerator<Holder> }> {
  const lines = textLines(source);
  const first = await lines.next();
  if (first.done) throw new SnapshotFormatError('snapshot is empty');
  let header: unknown;
  try { header = JSON.parse(first.value); } catch { throw new SnapshotFormatError('snapshot line 1 is not a JSON header'); }
  if (header === null || typeof header !== 'object') throw new SnapshotFormatError('snapshot line 1 is not a snapshot header');
  async function* holders(): AsyncGenerator<Holder> {
    let n = 1;
    for await (const line of lines) yield parseHolderLine(line, ++n);
  }
  return { header: header as Record<string, unknown>, holders: holders() };
}

function csvFromHeader(line: string, state: CsvState): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new SnapshotFormatError('snapshot line 1 is not a JSON header');
  }
  const sources = (parsed as { combine?: unknown; sources?: Array<{ tokenId?: unknown }> } | null)?.sources;
  if ((parsed as { combine?: unknown } | null)?.combine !== undefined && Array.isArray(sources) && sources.every((s) => typeof s?.tokenId === 'string' && isCanonicalEntityId(s.tokenId))) {
    state.tokens = sources.map((s) => s.tokenId as string);
    return `account,${state.tokens.join(',')}\n`;
  }
  if (parsed === null || typeof parsed !== 'object' || typeof (parsed as { tokenId?: unknown }).tokenId !== 'string') {
    throw new SnapshotFormatError('snapshot line 1 is not a snapshot header');
  }
  state.nft = (parsed as { type?: unknown }).type === 'NON_FUNGIBLE_UNIQUE';
  return state.nft ? csvNftHeaderLine : csvHeaderLine;
}

function csvFromHolder(line: string, lineNumber: number, nft: boolean): string {
  const match = holderLinePattern.exec(line);
  if (match === null || (match[3] !== undefined) !== nft) throw new SnapshotFormatError(`snapshot line ${lineNumber} is not a holder line`);
  return nft ? `${match[1]},${match[2]},${match[3]!.replaceAll(',', ' ')}\n` : `${match[1]},${match[2]}\n`;
}

/** A combination line, `{"account","balances":{tokenId: balance, ...}}`, as `account,balance,...` in the header's token order. */
function csvFromCombined(line: string, lineNumber: number, tokens: string[]): string {
  let parsed: { account?: unknown; balances?: Record<string, unknown> };
  try { parsed = JSON.parse(line); } catch { throw new SnapshotFormatError(`snapshot line ${lineNumber} is not JSON`); }
  const balances = tokens.map((t) => parsed.balances?.[t]);
  if (typeof parsed.account !== 'string' || !isCanonicalEntityId(parsed.account) || !balances.every(isAmount)) throw new SnapshotFormatError(`snapshot line ${lineNumber} is not a combination line`);
  return `${parsed.account},${balances.join(',')}\n`;
}

function assertHeader(header: SnapshotHeader): void {
  const problems: string[] = [];
  if (!isCanonicalEntityId(header.tokenId)) problems.push('tokenId must be a canonical Hedera id');
  if (header.network !== null && typeof header.network !== 'string') problems.push('network must be a string or null');
  if (typeof header.timestamp !== 'string' || !timestampPattern.test(header.timestamp)) {
    problems.push('timestamp must be seconds.nanoseconds');
  }
  if (typeof header.name !== 'string') problems.push('name must be a string');
  if (typeof header.symbol !== 'string') problems.push('symbol must be a string');
  if (!Number.isSafeInteger(header.decimals) || header.decimals < 0) problems.push('decimals must be an integer >= 0');
  if (!isAmount(header.totalSupply)) problems.push('totalSupply must be an integer string');
  if (typeof header.type !== 'string' || header.type === '') problems.push('type must be a non-empty string');
  if (problems.length > 0) throw new SnapshotFormatError(`invalid snapshot header: ${problems.join('; ')}`);
}

function isAmount(value: unknown): value is string {
  return typeof value === 'string' && value.length <= amountDigitsMax && amountPattern.test(value);
}

function isPositiveAmount(value: unknown): value is string {
  return typeof value === 'string' && value.length <= amountDigitsMax && positiveAmountPattern.test(value);
}

function asFormatError(error: unknown): Error {
  if (error instanceof SnapshotFormatError) return error;
  // TextDecoder with fatal: true throws a TypeError on invalid UTF-8.
  return new SnapshotFormatError(`snapshot is not valid UTF-8 NDJSON: ${(error as Error).message}`);
}
