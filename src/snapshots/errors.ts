// The expected failures of the snapshot building blocks (Hedera ids, mirror node, IPFS,
// content format), one class each. Every error has a stable `code` (for logs, job records
// and API bodies) and the HTTP status the REST layer should answer with, so the error
// middleware maps them all through the base class.
import { CodedError } from '../coded-error.ts';

export class SnapshotError extends CodedError {}

/** A Hedera entity id that fails HIP-15 (syntax or range). */
export class InvalidEntityIdError extends SnapshotError {
  constructor(message: string) {
    super('INVALID_ENTITY_ID', 400, message);
  }
}

/** A HIP-15 checksum that does not match the configured network, or cannot be checked. */
export class EntityIdChecksumError extends SnapshotError {
  constructor(message: string) {
    super('INVALID_CHECKSUM', 400, message);
  }
}

/** The mirror node answered 404 for the token. */
export class TokenNotFoundError extends SnapshotError {
  readonly tokenId: string;

  constructor(tokenId: string) {
    super('TOKEN_NOT_FOUND', 404, `token ${tokenId} not found on the mirror node`);
    this.tokenId = tokenId;
  }
}

/**
 * The mirror node could not be reached or kept failing (network error, timeout, 429, 5xx)
 * after every allowed attempt. Transient by nature: the job may be retried later.
 */
export class MirrorUnavailableError extends SnapshotError {
  readonly status: number | null;
  readonly retryAfterMs: number | null;
  readonly attempts: number;

  constructor(
    message: string,
    details: { status?: number | null; retryAfterMs?: number | null; attempts?: number } = {},
    options?: ErrorOptions,
  ) {
    super('MIRROR_UNAVAILABLE', 503, message, options);
    this.status = details.status ?? null;
    this.retryAfterMs = details.retryAfterMs ?? null;
    this.attempts = details.attempts ?? 1;
  }
}

/** The mirror node refused the request with a 4xx other than 404 and 429; retrying won't help. */
export class MirrorRequestError extends SnapshotError {
  readonly status: number;

  constructor(status: number, message: string) {
    super('MIRROR_REJECTED', 502, message);
    this.status = status;
  }
}

/**
 * The mirror node answered something Tally cannot trust: not JSON, the wrong shape, a
 * balance that is not an integer, a next link leaving the configured origin, pages out of
 * order or at different timestamps, too many pages. `retryable` is true only for bodies
 * that could be a transient transport problem (unparseable JSON).
 */
export class MirrorProtocolError extends SnapshotError {
  readonly retryable: boolean;

  constructor(message: string, options: ErrorOptions & { retryable?: boolean } = {}) {
    super('MIRROR_PROTOCOL', 502, message, options);
    this.retryable = options.retryable ?? false;
  }
}

/** A string that is not a CID. */
export class InvalidCidError extends SnapshotError {
  constructor(text: string, options?: ErrorOptions) {
    super('INVALID_CID', 400, `not a valid CID: ${JSON.stringify(text.slice(0, 120))}`, options);
  }
}

/** A well-formed CID whose blocks are not in the local IPFS store. */
export class ContentNotFoundError extends SnapshotError {
  readonly cid: string;

  constructor(cid: string) {
    super('CONTENT_NOT_FOUND', 404, `content ${cid} is not in the local IPFS store`);
    this.cid = cid;
  }
}

/** Bytes that do not follow the snapshot content contract (SPEC §7). */
export class SnapshotFormatError extends SnapshotError {
  constructor(message: string) {
    super('INVALID_SNAPSHOT_CONTENT', 422, message);
  }
}
