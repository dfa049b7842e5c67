// TODO(merge): remove once scheduler/store use TallyError
// The old constructor shape `(code, httpStatus, message)` kept for src/snapshots/scheduler.ts and
// metadata-store*.ts, which another branch is moving. It is a TallyError, so the middleware
// answers it; the status comes from the catalog, and a caller naming another status is a bug.
import assert from 'node:assert/strict';
import { errorCatalog, isErrorCode, TallyError } from './errors.ts';

export class CodedError extends TallyError {
  constructor(code: string, httpStatus: number, message: string, options?: ErrorOptions) {
    assert(isErrorCode(code), `error code ${code} is not in the catalog (src/errors.ts)`);
    assert.equal(httpStatus, errorCatalog[code].status, `the catalog gives ${code} another HTTP status`);
    super(code, message, options);
  }

  /** The old name of `status`. TODO(merge): remove with this class. */
  get httpStatus(): number {
    return this.status;
  }
}
