// Key names of a token. Every key shares the hash tag {SYM}, so a token lives in one cluster slot.
// Symbols are validated before they become key names.
import { LedgerError } from './errors.ts';

export const symbolPattern = /^[A-Z0-9][A-Z0-9_-]{0,31}$/;
export const accountPattern = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
export const opIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const amountPattern = /^(0|[1-9][0-9]{0,77})$/;
export const amountMax = (1n << 256n) - 1n;

export function isAmount(value: unknown): value is string {
  return typeof value === 'string' && amountPattern.test(value) && BigInt(value) <= amountMax;
}

export function tokenKey(symbol: string): string {
  if (!symbolPattern.test(symbol)) throw new LedgerError('INVALID_TOKEN', 'the token symbol must match ^[A-Z0-9][A-Z0-9_-]{0,31}$');
  return `token:{${symbol}}`;
}

export const tokenKeys = (symbol: string) => {
  const base = tokenKey(symbol);
  return {
    token: base,
    balances: `${base}:balances`,
    rank: `${base}:rank`,
    log: `${base}:log`,
    transfers: `${base}:transfers`,
    burns: `${base}:burns`,
  };
};
