// The typed failures of airdrops (src/airdrops/): codes, statuses and retryability come from the
// one catalog (src/errors.ts); the error middleware answers them all through TallyError.
import { TallyError } from '../errors.ts';

/** A failed record's error messages stop here. */
const errorMessageCharsMax = 500;

/** A failure as an airdrop record stores it: its catalog code (AIRDROP_FAILED for one without) and message. */
export function describeAirdropError(error: unknown): { code: string; message: string } {
  const code = error instanceof TallyError ? error.code : 'AIRDROP_FAILED';
  const message = error instanceof Error ? error.message : String(error);
  return { code, message: message.slice(0, errorMessageCharsMax) };
}

/** No airdrop has this id (or it is another token's: ids are looked up under their token). */
export class AirdropNotFoundError extends TallyError {
  constructor(airdropId: string, symbol?: string) {
    super('AIRDROP_NOT_FOUND', symbol === undefined ? `airdrop ${airdropId} not found` : `token ${symbol} has no airdrop ${airdropId}`);
  }
}

/** A snapshot an airdrop cannot read one balance per holder from (a combination of tokens). */
export class AirdropSourceUnsupportedError extends TallyError {
  constructor(message: string) { super('AIRDROP_SOURCE_UNSUPPORTED', message); }
}

/** The plan read back from IPFS is not a plan, or not the one its record names. */
export class InvalidAirdropPlanError extends TallyError {
  constructor(message: string) { super('INVALID_AIRDROP_PLAN', message); }
}

/** An Idempotency-Key (or the CLI's key) already used for another airdrop request. */
export class AirdropKeyConflictError extends TallyError {
  constructor(airdropId: string) {
    super('OP_CONFLICT', `this idempotency key was used for another airdrop request (airdrop ${airdropId}); use a new key for a new airdrop`);
  }
}

/** The ledger's INSUFFICIENT_FUNDS, raised before anything is stored or paid. */
export class AirdropInsufficientFundsError extends TallyError {
  constructor(from: string, balance: bigint, needed: bigint, what = 'the airdrop pays', outcome = 'nothing was paid or recorded') {
    super('INSUFFICIENT_FUNDS', `${from} holds ${balance}, ${what} ${needed}: ${outcome}`);
  }
}
