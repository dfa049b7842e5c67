// Key names of a token. Every key shares the hash tag {SYM}, so a token lives in one cluster slot.
// Symbols are validated before they become key names.
import { symbolPattern } from '../identifiers.ts';
import { LedgerError } from './errors.ts';

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
