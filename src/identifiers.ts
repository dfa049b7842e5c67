// The identifier and amount rules of docs/ledger-functions.md, shared by the ledger, the REST layer and the
// snapshot store (the Lua library applies the same rules in _lib.lua).

export const symbolPattern = /^[A-Z0-9][A-Z0-9_-]{0,31}$/;
export const accountPattern = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
export const opIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const amountPattern = /^(0|[1-9][0-9]{0,77})$/;
export const amountMax = (1n << 256n) - 1n;

export function isAmount(value: unknown): value is string {
  return typeof value === 'string' && amountPattern.test(value) && BigInt(value) <= amountMax;
}

/** A ledger event id: the log's stream entry id `ms-seq` (two integers up to 2^64 - 1). */
export const eventIdPattern = /^(0|[1-9][0-9]{0,19})-(0|[1-9][0-9]{0,19})$/;

/** Orders two canonical event ids (eventIdPattern) as the stream does: by ms, then by seq. */
export function compareEventIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

/** `network` of the snapshot of a Tally token (its header and metadata record). */
export const ledgerNetwork = 'ledger';
