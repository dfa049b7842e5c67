// The one catalog of ledger error codes (raised by the Lua library as `CODE message`), each with
// its HTTP status. test/ledger/errors.test.ts fails when this catalog and the Lua sources disagree.

export const ledgerErrorCatalog = {
  INVALID_TOKEN: { status: 400, description: 'key not of the form token:{SYM}, or bad name / decimals / supply at init' },
  INVALID_ARGUMENT: { status: 400, description: 'wrong argument count, bad limit, bad opId, bad batch shape' },
  INVALID_ACCOUNT: { status: 400, description: 'account fails the account rule' },
  INVALID_AMOUNT: { status: 400, description: 'amount is not a base-unit integer string in range' },
  SAME_ACCOUNT: { status: 422, description: 'transfer from an account to itself' },
  TOKEN_NOT_FOUND: { status: 404, description: 'the token does not exist' },
  TOKEN_EXISTS: { status: 409, description: 'init of an existing token with different parameters' },
  OP_CONFLICT: { status: 409, description: 'opId already used with different parameters' },
  INSUFFICIENT_FUNDS: { status: 422, description: 'balance lower than the amount' },
} as const;

export type LedgerErrorCode = keyof typeof ledgerErrorCatalog;

export class LedgerError extends Error {
  readonly code: LedgerErrorCode;
  readonly status: number;

  constructor(code: LedgerErrorCode, message: string) {
    super(message);
    this.name = 'LedgerError';
    this.code = code;
    this.status = ledgerErrorCatalog[code].status;
  }
}

export function isLedgerErrorCode(code: string): code is LedgerErrorCode {
  return Object.hasOwn(ledgerErrorCatalog, code);
}

/** Turns a Redis error reply `CODE message` into a LedgerError; anything else is returned as is. */
export function toLedgerError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const match = /^([A-Z_]+) (.*)$/s.exec(error.message);
  if (match && isLedgerErrorCode(match[1]!)) return new LedgerError(match[1]!, match[2]!);
  return error;
}
