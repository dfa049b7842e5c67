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
