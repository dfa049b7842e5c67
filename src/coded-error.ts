// The base of Tally's expected failures outside the ledger: a stable UPPER_CASE `code` (for
// logs, job records and API bodies) and the HTTP status the REST layer answers with. The error
// middleware maps every subclass through this shape (src/http/errors.ts).
export class CodedError extends Error {
  readonly code: string;
  readonly httpStatus: number;

  constructor(code: string, httpStatus: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = httpStatus;
  }
}
