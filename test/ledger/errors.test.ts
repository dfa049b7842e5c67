// The ledger entries of the one error catalog (src/errors.ts) and the codes the Lua sources
// raise must be the same set; the Lua list of contract codes follows the catalog's order (the
// precedence order of docs/ledger-functions.md).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { codesOf, errorCatalog } from '../../src/errors.ts';
import { librarySourceFiles } from '../../src/ledger/library.ts';
import { LedgerError, toLedgerError } from '../../src/ledger/errors.ts';

describe('ledger error catalog', () => {
  const sources = librarySourceFiles().map((f) => readFileSync(f, 'utf8')).join('\n');
  // WRONGTYPE is Redis' own code, which the library also answers (a derived key of the wrong
  // type, found before any write): not a contract code.
  const raised = new Set([...sources.matchAll(/fail\('([A-Z_]+)'/g)].map((m) => m[1]!).filter((code) => code !== 'WRONGTYPE'));
  const block = /local ERROR_CODES = \{([^}]*)\}/.exec(sources)?.[1] ?? '';
  const declared = [...block.matchAll(/([A-Z_]+) = true/g)].map((m) => m[1]!);

  it('has every code the Lua sources raise, and no other', () => {
    expect(raised.size).to.be.at.least(9);
    expect([...raised].sort()).to.deep.equal(codesOf('ledger').sort());
  });

  it('matches the Lua list of contract codes, in precedence order', () => {
    expect(declared).to.deep.equal(codesOf('ledger'));
  });

  it('maps a Redis error reply to a LedgerError with the status and retryability of the catalog', () => {
    const error = toLedgerError(new Error('INSUFFICIENT_FUNDS balance of a is lower than 5'));
    expect(error).to.be.instanceOf(LedgerError);
    expect(error).to.include({ code: 'INSUFFICIENT_FUNDS', status: 422, retryable: false, message: 'balance of a is lower than 5' });
    expect(errorCatalog.INSUFFICIENT_FUNDS.status).to.equal(422);
    const other = new Error('ERR something else');
    expect(toLedgerError(other)).to.equal(other);
    const notLedger = new Error('MIRROR_UNAVAILABLE a catalog code of another layer');
    expect(toLedgerError(notLedger)).to.equal(notLedger);
  });
});
