// The `--at` form of `tally balance` and `tally top`: src/http/ledger-history.ts createAsOf over the
// configured snapshot store and DATA_DIR/ipfs, with the same checkpoints as the API. A read refused
// with HISTORY_TOO_FAR requests no checkpoint here: run `tally snapshot --ledger SYM --at ...`.
import { loadConfig } from '../config.ts';
import type { Ledger } from '../ledger/client.ts';
import type { CliContext } from './context.ts';
import { lazyIpfs, withStore } from './snapshots.ts';
import type { AsOf } from '../http/ledger-history.ts';
import type { LogArchiveSource } from '../ledger/log-archive.ts';

const historyConfig = (context: CliContext) => loadConfig(context.env, ['dataDir', 'mongodbUrl', 'jobs', 'history']);

/** Runs `fn` with the as-of reads over `ledger`, the snapshot store and the Helia store (opened only if a checkpoint is read). */
export async function withAsOf<T>(context: CliContext, ledger: Ledger, fn: (asOf: AsOf) => Promise<T>): Promise<T> {
  const config = historyConfig(context);
  const { createAsOf } = await import('../http/ledger-history.ts');
  const ipfs = lazyIpfs(config.dataDir);
  try {
    return await withStore(context, config, (store) => fn(createAsOf({ ledger, checkpoints: { store, ipfs: ipfs.store }, entriesMax: config.history.replayEntriesMax })));
  } finally {
    await ipfs.stop();
  }
}

/**
 * Runs `fn` with the archived log segments of the configured store, their bytes from DATA_DIR/ipfs
 * (opened only if a segment is read): what `tally audit` and `tally verify-log` replay a trimmed log from.
 */
export async function withLogArchives<T>(context: CliContext, fn: (source: LogArchiveSource) => Promise<T>): Promise<T> {
  const config = loadConfig(context.env, ['dataDir', 'mongodbUrl', 'jobs']);
  const ipfs = lazyIpfs(config.dataDir);
  try {
    return await withStore(context, config, (store) => fn({
      getLogSegment: (symbol, index) => store.getLogSegment(symbol, index),
      lastLogSegment: (symbol) => store.lastLogSegment(symbol),
      cat: (cid) => ipfs.store.cat(cid),
    }));
  } finally {
    await ipfs.stop();
  }
}
