// The ledger's error codes (raised by the Lua library as `CODE message`) are the `ledger` entries
// of the one catalog, src/errors.ts. test/ledger/errors.test.ts fails when they and the Lua
// sources disagree.
import { codesOf, errorCatalog, TallyError, type CodeOf, type ErrorCatalogEntry } from '../errors.ts';

export type LedgerErrorCode = CodeOf<'ledger'>;

/** The ledger codes in the order the functions check them (docs/ledger-functions.md). */
export const ledgerErrorCodes: readonly LedgerErrorCode[] = codesOf('ledger');

/** The catalog's ledger entries. */
export const ledgerErrorCatalog = Object.fromEntries(ledgerErrorCodes.map((code) => [code, errorCatalog[code]])) as Record<LedgerErrorCode, ErrorCatalogEntry>;

export class LedgerError extends TallyError {
  declare readonly code: LedgerErrorCode;

  constructor(code: LedgerErrorCode, message: string) {
    super(code, message);
  }
}

export function isLedgerErrorCode(code: string): code is LedgerErrorCode {
  return (ledgerErrorCodes as readonly string[]).includes(code);
}

/**
 * The node serving a token has no ledger library (a master added to the cluster, or one that
 * lost its functions, before `npm run migrate` ran): UNAVAILABLE, retryable once migrated.
 */
export class LibraryNotLoadedError extends TallyError {
  constructor(detail: string) {
    super('UNAVAILABLE', `the ledger library is not loaded on the Redis node serving this token (${detail}): run npm run migrate`);
  }
}

/**
 * Turns a Redis error reply `CODE message` into a LedgerError, and Redis' `ERR Function not
 * found` into a LibraryNotLoadedError; anything else is returned as is.
 */
export function toLedgerError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (/^ERR Function not found\b/.test(error.message)) return new LibraryNotLoadedError(error.message);
  const match = /^([A-Z_]+) (.*)$/s.exec(error.message);
  if (match && isLedgerErrorCode(match[1]!)) return new LedgerError(match[1]!, match[2]!);
  return error;
}
