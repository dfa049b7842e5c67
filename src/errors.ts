// The one catalog of Tally's error codes: every code that any interface can answer (Lua error
// replies, REST bodies, Socket.IO acks, the CLI, snapshot records), with its HTTP status, whether
// the same call may succeed later unchanged (`retryable`), and one line of description. The
// error middleware, the OpenAPI document and the README's error table read or mirror it;
// test/errors.test.ts fails when a code is raised, answered or documented without being here,
// and test/ledger/errors.test.ts when the Lua sources and the `ledger` entries disagree.
//
// `layer` says which part raises the code: `ledger` (the Lua library, docs/ledger-functions.md), `http` (the REST
// layer itself), `snapshots` (Hedera ids, the mirror node, IPFS, the content format, snapshot
// records), `store` (snapshot metadata), `jobs` (the scheduler), `history` (ledger snapshots
// and as-of reads from the log), `airdrops` (airdrops from a snapshot).

export type ErrorLayer = 'ledger' | 'http' | 'snapshots' | 'store' | 'jobs' | 'history' | 'airdrops';

export interface ErrorCatalogEntry {
  readonly status: number;
  readonly retryable: boolean;
  readonly layer: ErrorLayer;
  readonly description: string;
}

const entry = <L extends ErrorLayer>(layer: L, status: number, retryable: boolean, description: string) =>
  ({ layer, status, retryable, description }) as const;

export const errorCatalog = {
  // The ledger library (docs/ledger-functions.md), in the order the functions check them.
  INVALID_TOKEN: entry('ledger', 400, false, 'key not of the form token:{SYM}, or bad name / decimals / supply at init'),
  INVALID_ARGUMENT: entry('ledger', 400, false, 'wrong argument count, bad limit, bad opId, bad batch shape (also any other malformed field or query)'),
  INVALID_ACCOUNT: entry('ledger', 400, false, 'account fails the account rule'),
  INVALID_AMOUNT: entry('ledger', 400, false, 'amount is not a base-unit integer string in range'),
  SAME_ACCOUNT: entry('ledger', 422, false, 'transfer from an account to itself'),
  TOKEN_NOT_FOUND: entry('ledger', 404, false, 'the ledger token does not exist (a Hedera token the mirror node does not know is HEDERA_TOKEN_NOT_FOUND)'),
  TOKEN_EXISTS: entry('ledger', 409, false, 'init of an existing token with different parameters'),
  OP_CONFLICT: entry('ledger', 409, false, 'opId already used with different parameters'),
  INSUFFICIENT_FUNDS: entry('ledger', 422, false, 'balance lower than the amount'),
  LOG_TRIMMED: entry('ledger', 410, false, 'the log entries asked for were archived and trimmed from the stream; the message begins with the last trimmed id, after which the log reads on'),
  LOG_NOT_ARCHIVED: entry('ledger', 409, false, 'a trim past the id the archives are recorded to hold (ledger_log_archived)'),

  // The REST layer (and the Socket.IO handshake and acks).
  INVALID_JSON: entry('http', 400, false, 'the body is not valid JSON'),
  UNAUTHENTICATED: entry('http', 401, false, 'no bearer token, or one that is malformed, badly signed, expired or for another issuer/audience'),
  FORBIDDEN: entry('http', 403, false, 'the caller may not act on this account or resource'),
  NOT_FOUND: entry('http', 404, false, 'no such route or resource (a snapshot or schedule id that does not exist)'),
  METHOD_NOT_ALLOWED: entry('http', 405, false, 'the route exists but not with this method'),
  NOT_READY: entry('http', 409, true, 'the resource exists but is not ready for this (e.g. the content of a snapshot still running)'),
  PAYLOAD_TOO_LARGE: entry('http', 413, false, 'the body exceeds BODY_LIMIT_BYTES'),
  HEADERS_TOO_LARGE: entry('http', 431, false, 'the request headers exceed the server limit (16 KB; a huge JWT, say)'),
  UNSUPPORTED_MEDIA_TYPE: entry('http', 415, false, 'the body is not application/json (UTF-8)'),
  RATE_LIMITED: entry('http', 429, true, 'too many requests from this client in the current minute'),
  INTERNAL: entry('http', 500, false, 'an unexpected failure (logged with a request id)'),
  UNAVAILABLE: entry('http', 503, true, 'a dependency (Redis, the store) is down or not ready'),

  // Snapshots: Hedera ids, the mirror node, IPFS, the content format, snapshot records.
  INVALID_ENTITY_ID: entry('snapshots', 400, false, 'a Hedera id that fails HIP-15'),
  INVALID_CHECKSUM: entry('snapshots', 400, false, 'a HIP-15 checksum that does not match the configured network'),
  INVALID_TIMESTAMP: entry('snapshots', 400, false, 'not a consensus timestamp seconds.nanoseconds'),
  HEDERA_TOKEN_NOT_FOUND: entry('snapshots', 404, false, 'the mirror node does not know the Hedera token (formerly TOKEN_NOT_FOUND)'),
  MIRROR_UNAVAILABLE: entry('snapshots', 503, true, 'the mirror node could not be reached or kept failing (network, timeout, 429, 5xx)'),
  MIRROR_REJECTED: entry('snapshots', 502, false, 'the mirror node refused the request with a 4xx other than 404 and 429'),
  MIRROR_PROTOCOL: entry('snapshots', 502, false, 'the mirror node answered something Tally cannot trust (retryable only for an unparseable body)'),
  INVALID_CID: entry('snapshots', 400, false, 'not a valid CID'),
  CONTENT_NOT_FOUND: entry('snapshots', 404, false, 'the content is not in the local IPFS store'),
  INVALID_SNAPSHOT_CONTENT: entry('snapshots', 422, false, 'bytes that do not follow the snapshot content contract'),
  SNAPSHOT_FAILED: entry('snapshots', 500, false, 'in a failed snapshot record: a failure that has no code of its own'),
  MIRROR_SNAPSHOT_CHANGED: entry('snapshots', 502, true, 'a resumed snapshot found the mirror node answering from another balance snapshot than its checkpoint'),
  NO_MERKLE_TREE: entry('snapshots', 404, false, 'the snapshot has no Merkle tree: it has no holders, or it is a combination of tokens'),
  NOT_A_HOLDER: entry('snapshots', 404, false, 'the account holds nothing in that snapshot, so it has no Merkle proof'),
  SNAPSHOTS_NOT_COMPARABLE: entry('snapshots', 422, false, 'a diff of two snapshots that are not of the same token (or are combinations)'),
  FILTER_NOT_APPLICABLE: entry('snapshots', 422, false, 'a filter that does not apply to the token (minCount on a fungible token)'),
  NFT_SERIALS_UNSETTLED: entry('snapshots', 503, true, 'the NFT serials listed kept disagreeing with the balances at the snapshot timestamp (serials moving, or a timestamp in the past)'),

  // Snapshot metadata (Redis or MongoDB).
  INVALID_ID: entry('store', 400, false, 'not an id the snapshot store issued'),
  INVALID_CURSOR: entry('store', 400, false, 'a cursor that no previous page returned'),
  SNAPSHOT_NOT_FOUND: entry('store', 404, false, 'the snapshot record does not exist'),
  SNAPSHOT_COMPLETED: entry('store', 409, false, 'a checkpoint for a completed snapshot'),
  INVALID_TRANSITION: entry('store', 409, false, 'a status change the snapshot state machine forbids'),
  CONCURRENT_UPDATE: entry('store', 409, true, 'the record kept changing status during the update'),
  LOG_SEGMENT_CONFLICT: entry('store', 409, false, 'a log segment that is not the next link of its token\'s archive chain, or differs from the one recorded at its index'),

  // Snapshot jobs and schedules.
  INVALID_SCHEDULE: entry('jobs', 400, false, 'every is not a human interval or cron expression, or too frequent'),
  SCHEDULER_UNAVAILABLE: entry('jobs', 503, true, 'the job backend does not answer'),
  SCHEDULE_BUSY: entry('jobs', 503, true, 'another process is changing this schedule'),

  // History: ledger snapshots and as-of reads from the log (src/ledger/history.ts).
  INVALID_AT: entry('history', 400, false, 'at is not an event id ms-seq or an ISO 8601 time, or lies before the token began or after the log ends'),
  HISTORY_TOO_FAR: entry('history', 409, true, 'the nearest earlier ledger snapshot is more than HISTORY_REPLAY_ENTRIES_MAX log entries before at; one has been requested, retry once it completes'),

  // Airdrops from a snapshot (src/airdrops/).
  AIRDROP_PAYS_NOTHING: entry('airdrops', 422, false, 'the airdrop rule pays 0 to every holder left after the filters (or none is left)'),
  AIRDROP_NOT_FOUND: entry('airdrops', 404, false, 'no airdrop with this id for this token'),
  AIRDROP_SOURCE_UNSUPPORTED: entry('airdrops', 422, false, 'the snapshot cannot be airdropped from: a combination of tokens holds one balance per token'),
  INVALID_AIRDROP_PLAN: entry('airdrops', 422, false, 'the stored plan does not follow the plan format (docs/airdrops.md) or does not match its record'),
  AIRDROP_FAILED: entry('airdrops', 500, false, 'in a failed airdrop record: a failure that has no code of its own'),
  // The Hedera airdrop plan (src/airdrops/hedera/, docs/hedera-airdrops.md).
  HEDERA_AMOUNT_OUT_OF_RANGE: entry('airdrops', 400, false, 'a Hedera airdrop amount outside int64 (the rule, a leg or one transaction\'s debit), or with more decimal places than the token has'),
  HEDERA_TOKEN_UNSUITABLE: entry('airdrops', 422, false, 'the Hedera token cannot be airdropped by a plan: it is not fungible, deleted or paused'),
  HEDERA_SENDER_NOT_TREASURY: entry('airdrops', 422, false, 'the token has custom fees, so only its treasury (which pays none) may send the airdrop'),
  HEDERA_SENDER_SHORT: entry('airdrops', 422, false, 'the sender\'s balance of the token on the mirror node cannot cover the whole plan'),
  HEDERA_PLAN_MISMATCH: entry('airdrops', 409, false, 'the plan file holds another airdrop, or its transactions do not decode to the legs and ids it records'),
  HEDERA_TRANSACTION_FAILED: entry('airdrops', 502, false, 'a plan transaction reached consensus with a status other than SUCCESS, or its valid window passed unsent; the plan records it and stops'),
} as const satisfies Record<string, ErrorCatalogEntry>;

export type ErrorCode = keyof typeof errorCatalog;

/** The codes of one layer, as a type: `CodeOf<'ledger'>` is the union of the ledger codes. */
export type CodeOf<L extends ErrorLayer> = { [C in ErrorCode]: (typeof errorCatalog)[C]['layer'] extends L ? C : never }[ErrorCode];

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(errorCatalog, code);
}

/** The codes of one layer, in catalog order. */
export function codesOf<L extends ErrorLayer>(layer: L): CodeOf<L>[] {
  return (Object.keys(errorCatalog) as ErrorCode[]).filter((code): code is CodeOf<L> => errorCatalog[code].layer === layer);
}

/**
 * The base of every expected failure: a catalog code, the HTTP status of that code, and whether
 * the same call may succeed later. The error middleware answers every subclass the same way.
 * `retryable` comes from the catalog unless the thrower knows better for this one instance (an
 * unparseable mirror-node body is worth another attempt; a wrong shape is not).
 */
export class TallyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: ErrorOptions & { retryable?: boolean } = {}) {
    const { retryable, ...errorOptions } = options;
    super(message, errorOptions);
    this.name = new.target.name;
    this.code = code;
    this.status = errorCatalog[code].status;
    this.retryable = retryable ?? errorCatalog[code].retryable;
  }
}
