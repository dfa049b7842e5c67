// The expected failures of the snapshot building blocks (Hedera ids, mirror node, IPFS,
// content format), one class each. Codes, HTTP statuses and retryability come from the one
// catalog (src/errors.ts); the error middleware answers them all through TallyError.
import { TallyError, type CodeOf } from '../errors.ts';

/** A failed record's error messages stop here. */
const errorMessageCharsMax = 500;

/** A failure as a snapshot record stores it: its catalog code (SNAPSHOT_FAILED for one without) and message. */
export function describeError(error: unknown): { code: string; message: string } {
  const code = error instanceof TallyError ? error.code : 'SNAPSHOT_FAILED';
  const message = error instanceof Error ? error.message : String(error);
  return { code, message: message.slice(0, errorMessageCharsMax) };
}

export class SnapshotError extends TallyError {
  declare readonly code: CodeOf<'snapshots'>;

  constructor(code: CodeOf<'snapshots'>, message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super(code, message, options);
  }
}

/** A Hedera entity id that fails HIP-15 (syntax or range). */
export class InvalidEntityIdError extends SnapshotError {
  constructor(message: string) {
    super('INVALID_ENTITY_ID', message);
  }
}

/** A HIP-15 checksum that does not match the configured network, or cannot be checked. */
export class EntityIdChecksumError extends SnapshotError {
  constructor(message: string) {
    super('INVALID_CHECKSUM', message);
  }
}

/**
 * The mirror node answered 404 for the token. Its own code, HEDERA_TOKEN_NOT_FOUND: the ledger's
 * TOKEN_NOT_FOUND (docs/ledger-functions.md) means a Tally token.
 */
export class HederaTokenNotFoundError extends SnapshotError {
  readonly tokenId: string;

  constructor(tokenId: string) {
    super('HEDERA_TOKEN_NOT_FOUND', `token ${tokenId} not found on the mirror node`);
    this.tokenId = tokenId;
  }
}

/**
 * The mirror node could not be reached or kept failing (network error, timeout, 429, 5xx)
 * after every allowed attempt. Transient by nature: the job may be retried later.
 * `upstreamStatus` is the mirror node's HTTP status (null without an answer).
 */
export class MirrorUnavailableError extends SnapshotError {
  readonly upstreamStatus: number | null;
  readonly retryAfterMs: number | null;
  readonly attempts: number;

  constructor(
    message: string,
    details: { upstreamStatus?: number | null; retryAfterMs?: number | null; attempts?: number } = {},
    options?: ErrorOptions,
  ) {
    super('MIRROR_UNAVAILABLE', message, options);
    this.upstreamStatus = details.upstreamStatus ?? null;
    this.retryAfterMs = details.retryAfterMs ?? null;
    this.attempts = details.attempts ?? 1;
  }
}

/** The mirror node refused the request with a 4xx other than 404 and 429; retrying won't help. */
export class MirrorRequestError extends SnapshotError {
  readonly upstreamStatus: number;

  constructor(upstreamStatus: number, message: string) {
    super('MIRROR_REJECTED', message);
    this.upstreamStatus = upstreamStatus;
  }
}

/**
 * The mirror node answered something Tally cannot trust: not JSON, the wrong shape, a
 * balance that is not an integer, a next link leaving the configured origin, pages out of
 * order or at different timestamps, too many pages. `retryable` is true only for bodies
 * that could be a transient transport problem (unparseable JSON).
 */
export class MirrorProtocolError extends SnapshotError {
  constructor(message: string, options: ErrorOptions & { retryable?: boolean } = {}) {
    super('MIRROR_PROTOCOL', message, options);
  }
}

/**
 * A resumed run found the mirror node answering from another balance snapshot than the one its
 * checkpoint's rows came from (a restarted or re-ingested mirror node, another instance behind a
 * load balancer). Reading on would mix two snapshots in one file, so the attempt fails; a later
 * attempt reads on if the mirror node answers from the checkpoint's snapshot again.
 */
export class MirrorSnapshotChangedError extends SnapshotError {
  readonly expectedTimestamp: string;
  readonly answeredTimestamp: string;

  constructor(expectedTimestamp: string, answeredTimestamp: string) {
    super('MIRROR_SNAPSHOT_CHANGED', `the checkpoint's rows are from balance snapshot ${expectedTimestamp}, the mirror node now answers from ${answeredTimestamp}`);
    this.expectedTimestamp = expectedTimestamp;
    this.answeredTimestamp = answeredTimestamp;
  }
}

/** A string that is not a CID. */
export class InvalidCidError extends SnapshotError {
  constructor(text: string, options?: ErrorOptions) {
    super('INVALID_CID', `not a valid CID: ${JSON.stringify(text.slice(0, 120))}`, options);
  }
}

/** A well-formed CID whose blocks are not in the local IPFS store. */
export class ContentNotFoundError extends SnapshotError {
  readonly cid: string;

  constructor(cid: string) {
    super('CONTENT_NOT_FOUND', `content ${cid} is not in the local IPFS store`);
    this.cid = cid;
  }
}

/** Bytes that do not follow the snapshot content contract (docs/snapshot-format.md). */
export class SnapshotFormatError extends SnapshotError {
  constructor(message: string) {
    super('INVALID_SNAPSHOT_CONTENT', message);
  }
}

/** A Merkle question about a snapshot that has no tree (no holders, or a combination). */
export class NoMerkleTreeError extends SnapshotError {
  constructor(snapshotId: string, why: string) {
    super('NO_MERKLE_TREE', `snapshot ${snapshotId} has no Merkle tree: ${why}`);
  }
}

/** A proof asked for an account that holds nothing in the snapshot. */
export class NotAHolderError extends SnapshotError {
  constructor(snapshotId: string, account: string) {
    super('NOT_A_HOLDER', `account ${account} holds nothing in snapshot ${snapshotId}`);
  }
}

/** A diff of snapshots of different tokens, or of combinations. */
export class SnapshotsNotComparableError extends SnapshotError {
  constructor(message: string) {
    super('SNAPSHOTS_NOT_COMPARABLE', message);
  }
}

/** A filter the token's type does not have (minCount, which counts NFT serials, on a fungible token). */
export class FilterNotApplicableError extends SnapshotError {
  constructor(message: string) {
    super('FILTER_NOT_APPLICABLE', message);
  }
}

/** An NFT listing that never agreed with the balances at the snapshot's timestamp within its rounds. */
export class NftSerialsUnsettledError extends SnapshotError {
  constructor(message: string) {
    super('NFT_SERIALS_UNSETTLED', message);
  }
}
