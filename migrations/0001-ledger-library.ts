// Loads the `ledger` Redis Functions library on every master; applied again whenever the
// library's source changes, so a new library version needs no new migration file, and whenever
// a master lacks it or holds another version (a master added later, or one that lost its
// functions: FUNCTION FLUSH, a restart without persistence).
import { libraryGaps, librarySource, librarySourceHash } from '../src/ledger/library.ts';
import { loadFunctionLibrary } from '../src/migrate/function-load.ts';

export default {
  description: 'load the ledger Redis Functions library (reloaded when its source changes)',
  checksum: () => librarySourceHash(),
  async pending(redis) {
    const { missing, outdated } = await libraryGaps(redis);
    return missing.length + outdated.length > 0;
  },
  up: (redis) => loadFunctionLibrary(redis, librarySource()),
} satisfies import('../src/migrate/migrations.ts').MigrationModule;
