// The error catalog in TypeScript and the codes the Lua sources raise must be the same set.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { librarySourceFiles } from '../../src/ledger/library.ts';
import { ledgerErrorCatalog, LedgerError, toLedgerError } from '../../src/ledger/errors.ts';

describe('ledger error catalog', () => {
  const sources = librarySourceFiles().map((f) => readFileSync(f, 'utf8')).join('\n');
  const raised = new Set([...sources.matchAll(/fail\('([A-Z_]+)'/g)].map((m) => m[1]!));
  const block = /local ERROR_CODES = \{([^}]*)\}/.exec(sources)?.[1] ?? '';
  const declared = new Set([...block.matchAll(/([A-Z_]+) = true/g)].map((m) => m[1]!));

  it('has every code the Lua sources raise, and no other', () => {
    expect([...raised].sort()).to.deep.equal(Object.keys(ledgerErrorCatalog).sort());
  });

  it('matches the Lua list of contract codes', () => {
    expect([...declared].sort()).to.deep.equal(Object.keys(ledgerErrorCatalog).sort());
  });

  it('maps a Redis error reply to a LedgerError with its status', () => {
    const error = toLedgerError(new Error('INSUFFICIENT_FUNDS balance of a is lower than 5'));
    expect(error).to.be.instanceOf(LedgerError);
    expect(error).to.include({ code: 'INSUFFICIENT_FUNDS', status: 422, message: 'balance of a is lower than 5' });
    const other = new Error('ERR something else');
    expect(toLedgerError(other)).to.equal(other);
  });
});
