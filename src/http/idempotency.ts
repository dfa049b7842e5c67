// REST idempotency keys belong to their caller (docs/rest.md): the ledger opId of a request is
// `rest:` + hex SHA-256 of `sub`, a newline and the Idempotency-Key, so another caller's identical
// key neither conflicts nor replays, and nobody can probe which keys others used. An admin acting
// for an account (`from` / `account` in the body, or a batch) is scoped by the admin's own `sub`,
// like everyone: the key is the caller's, not the account's. The opId satisfies the opId rule
// (69 characters). FCALL users pass their opIds unchanged and keep the global space.
import { createHash } from 'node:crypto';
import type { Caller } from '../auth/jwt.ts';
import { idempotencyKey } from './schemas.ts';

/** The opId for `caller`'s Idempotency-Key header, validated; undefined when the header is absent. */
export function callerOpId(caller: Caller, header: string | undefined): string | undefined {
  const key = idempotencyKey(header);
  if (key === undefined) return undefined;
  // A newline is in neither an account nor a key, so (sub, key) pairs cannot collide.
  return `rest:${createHash('sha256').update(`${caller.account}\n${key}`).digest('hex')}`;
}
