// Loads the `ledger` Redis Functions library on every master; applied again whenever the
// library's source changes, so a new library version needs no new migration file.
import { librarySource, librarySourceHash } from '../src/ledger/library.ts';
import { loadFunctionLibrary } from '../src/migrate/function-load.ts';

export default {
  description: 'load the ledger Redis Functions library (reloaded when its source changes)',
  checksum: () => librarySourceHash(),
  up: (redis) => loadFunctionLibrary(redis, librarySource()),
} satisfies import('../src/migrate/migrations.ts').MigrationModule;
