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
    rankSmall: `${base}:rank:small`,
    log: `${base}:log`,
    transfers: `${base}:transfers`,
    burns: `${base}:burns`,
  };
};

/**
 * The declared form of a call's KEYS (docs/ledger-functions.md, Keys): every key the function
 * touches, so Redis Cluster routes and guards them all while the token's slot migrates; with an
 * opId, its record's key last.
 */
export function declaredKeys(symbol: string, opId?: string): string[] {
  const keys = tokenKeys(symbol);
  const declared = [keys.token, keys.balances, keys.rank, keys.rankSmall, keys.log];
  if (opId !== undefined) declared.push(`${keys.token}:op:${opId}`);
  return declared;
}
