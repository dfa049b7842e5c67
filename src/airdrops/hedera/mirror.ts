// What the Hedera airdrop plan reads from the mirror node (docs/hedera-airdrops.md): the token's
// terms (type, decimals, treasury, custom fees, deleted, paused), the sender's live balance of
// it, and whether a transaction id has reached consensus (`GET /api/v1/transactions/{id}`), which
// is how `--submit` knows on a rerun what already executed. Reads go through the mirror client's
// HTTP core (rate limit, retries, timeouts, lossless JSON); every field is checked here.
import { isLosslessNumber } from 'lossless-json';
import { TallyError } from '../../errors.ts';
import { HederaTokenNotFoundError, MirrorProtocolError, SnapshotError } from '../../snapshots/errors.ts';
import { isCanonicalEntityId, timestampPattern } from '../../snapshots/hedera-ids.ts';
import type { MirrorReader } from '../../snapshots/mirror/client.ts';

export interface TokenTerms {
  tokenId: string;
  type: string;
  decimals: number;
  treasury: string | null;
  deleted: boolean;
  /** `PAUSED`, `UNPAUSED` or `NOT_APPLICABLE` (no pause key). */
  pauseStatus: string;
  /** Fixed, fractional and royalty fees the token charges on transfers. */
  customFees: number;
}

/** A transaction as the mirror node reports it: its result (`SUCCESS`, or the failure status) and when. */
export interface ExecutedTransaction {
  transactionId: string;
  result: string;
  consensusTimestamp: string;
}

/** Transaction ids as the mirror node writes them: `0.0.8-1234567890-000000006`. */
const mirrorTransactionIdPattern = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)-\d{1,19}-\d{9}$/;
const resultPattern = /^[A-Z][A-Z0-9_]{1,99}$/;
/** A transaction id names one user transaction and its children; more rows than this are not a mirror node. */
const transactionRowsMax = 100;

/** The token now, or as it was at `timestamp` (`seconds.nanoseconds`). */
export async function readTokenTerms(reader: MirrorReader, tokenId: string, signal?: AbortSignal, timestamp?: string): Promise<TokenTerms> {
  if (timestamp !== undefined && !timestampPattern.test(timestamp)) throw new TallyError('INVALID_TIMESTAMP', `${timestamp.slice(0, 40)} is not seconds.nanoseconds`);
  const body = await reader.getJson(`/api/v1/tokens/${tokenId}${timestamp === undefined ? '' : `?timestamp=${timestamp}`}`, { ...(signal ? { signal } : {}), notFound: () => new HederaTokenNotFoundError(tokenId) });
  const token = object(body, 'token');
  if (token.token_id !== tokenId) throw new MirrorProtocolError(`asked for token ${tokenId}, the mirror node answered ${String(token.token_id)}`);
  const decimalsText = isLosslessNumber(token.decimals) ? token.decimals.value : token.decimals;
  if (typeof decimalsText !== 'string' || !/^(0|[1-9]\d{0,9})$/.test(decimalsText) || Number(decimalsText) > 2 ** 31 - 1) {
    throw new MirrorProtocolError(`token decimals ${String(decimalsText)} is not an int32 >= 0`);
  }
  const treasury = token.treasury_account_id ?? null;
  if (treasury !== null && (typeof treasury !== 'string' || !isCanonicalEntityId(treasury))) throw new MirrorProtocolError('token treasury_account_id is not a Hedera id');
  if (typeof token.type !== 'string' || typeof token.deleted !== 'boolean') throw new MirrorProtocolError('token info lacks type or deleted');
  const fees = token.custom_fees === undefined || token.custom_fees === null ? {} : object(token.custom_fees, 'custom_fees');
  const count = (name: string) => {
    const list = fees[name] ?? [];
    if (!Array.isArray(list)) throw new MirrorProtocolError(`custom_fees.${name} is not a list`);
    return list.length;
  };
  return {
    tokenId, type: token.type, decimals: Number(decimalsText), treasury: treasury as string | null, deleted: token.deleted,
    pauseStatus: typeof token.pause_status === 'string' ? token.pause_status : 'NOT_APPLICABLE',
    customFees: count('fixed_fees') + count('fractional_fees') + count('royalty_fees'),
  };
}

/** The account's balance of the token now (live, not a balance snapshot); 0 when it holds none. */
export async function readLiveBalance(reader: MirrorReader, tokenId: string, account: string, signal?: AbortSignal): Promise<bigint> {
  const body = await reader.getJson(`/api/v1/tokens/${tokenId}/balances?account.id=eq:${account}&limit=1`, signal ? { signal } : {});
  const rows = object(body, 'balances page').balances;
  if (!Array.isArray(rows) || rows.length > 1) throw new MirrorProtocolError('balances must be an array of at most 1 row');
  if (rows.length === 0) return 0n;
  const row = object(rows[0], 'balance row');
  if (row.account !== account || !isLosslessNumber(row.balance) || !/^(0|[1-9]\d{0,77})$/.test(row.balance.value)) {
    throw new MirrorProtocolError(`the balance row of ${account} is malformed`);
  }
  return BigInt(row.balance.value);
}

/**
 * The user transaction (nonce 0, not scheduled) with this id, or null while the mirror node does
 * not know it (404: never submitted, not yet reached consensus, or not yet ingested).
 */
export async function lookupTransaction(reader: MirrorReader, mirrorTransactionId: string, signal?: AbortSignal): Promise<ExecutedTransaction | null> {
  if (!mirrorTransactionIdPattern.test(mirrorTransactionId)) throw new TallyError('INVALID_ARGUMENT', `not a mirror node transaction id: ${mirrorTransactionId.slice(0, 80)}`);
  // A SnapshotError, so that the client neither retries it nor reports it as the mirror node being down.
  const notFound = new SnapshotError('MIRROR_REJECTED', `transaction ${mirrorTransactionId} not found`);
  let body: unknown;
  try {
    body = await reader.getJson(`/api/v1/transactions/${mirrorTransactionId}?nonce=0&scheduled=false`, { ...(signal ? { signal } : {}), notFound: () => notFound });
  } catch (error) {
    if (error === notFound) return null;
    throw error;
  }
  const rows = object(body, 'transactions response').transactions;
  if (!Array.isArray(rows) || rows.length === 0 || rows.length > transactionRowsMax) throw new MirrorProtocolError(`transactions of ${mirrorTransactionId} must be 1..${transactionRowsMax} rows`);
  const row = object(rows[0], 'transaction');
  const timestamp = row.consensus_timestamp;
  if (row.transaction_id !== mirrorTransactionId || typeof row.result !== 'string' || !resultPattern.test(row.result) || typeof timestamp !== 'string' || !timestampPattern.test(timestamp)) {
    throw new MirrorProtocolError(`the mirror node's row for transaction ${mirrorTransactionId} is malformed`);
  }
  return { transactionId: mirrorTransactionId, result: row.result, consensusTimestamp: timestamp };
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new MirrorProtocolError(`the mirror node's ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}
