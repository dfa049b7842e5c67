// `tally airdrop SYM --snapshot <id> (--fixed AMOUNT | --pro-rata TOTAL) [--from] [--min-balance]
// [--exclude ...] [--key K]` (docs/airdrops.md): plans an airdrop of a Tally token from a completed
// snapshot and pays it in this process, with the server's stores (MongoDB when MONGODB_URL is set,
// else Redis) and DATA_DIR/ipfs; prints one JSON line {airdropId, symbol, snapshotId, planCid,
// legs, paid, total, status}. The same checks as REST refuse bad input with nothing stored or paid.
//
// Exactly once from a terminal too: the request's key is derived from its arguments (or from
// --key), so running the same command again, after a crash or a Ctrl-C, answers the same airdrop
// and resumes it where it stopped instead of paying twice; a completed one is only printed. Pass
// a new --key for a second airdrop with the same arguments.
//
// registerAirdropCommand returns the `airdrop` command so that sub-commands (the Hedera airdrop
// plan) can be added to it; commander runs this action when no sub-command name matches.
import { createHash } from 'node:crypto';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import type { AirdropService } from '../airdrops/service.ts';
import type { AirdropStore } from '../airdrops/store/airdrop-store.ts';
import type { Ledger } from '../ledger/client.ts';
import type { SnapshotStore } from '../snapshots/store/metadata-store.ts';
import { UsageError, type CliContext } from './context.ts';
import { lazyIpfs } from './snapshots.ts';

interface AirdropOptions {
  snapshot?: string;
  from?: string;
  fixed?: string;
  proRata?: string;
  minBalance?: string;
  exclude?: string[];
  key?: string;
}

type AirdropCliConfig = Pick<Config, 'dataDir' | 'mongodbUrl' | 'jobs' | 'airdrops'>;

const keyCharsMax = 200;

/** Accounts from repeated and comma-separated --exclude values. */
function collectAccounts(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((a) => a.trim()).filter(Boolean)];
}

/** The store key of this invocation: from --key, else from every argument that shapes the plan. */
export function cliAirdropKey(symbol: string, options: AirdropOptions): string {
  if (options.key !== undefined) {
    if (options.key.length === 0 || options.key.length > keyCharsMax) throw new UsageError(`--key must be 1..${keyCharsMax} characters`);
    return `cli:${createHash('sha256').update(`key\n${options.key}`).digest('hex')}`;
  }
  const exclude = [...new Set(options.exclude ?? [])].sort();
  const args = [symbol, options.snapshot, options.from ?? null, options.fixed ?? null, options.proRata ?? null, options.minBalance ?? null, exclude];
  return `cli:${createHash('sha256').update(`args\n${JSON.stringify(args)}`).digest('hex')}`;
}

/** The snapshot and airdrop stores the server uses, and the ledger, for the length of `fn`. */
async function withStores<T>(context: CliContext, config: Readonly<AirdropCliConfig>, fn: (deps: { ledger: Ledger; snapshots: SnapshotStore; airdrops: AirdropStore }) => Promise<T>): Promise<T> {
  const ns = config.jobs.namespace;
  return context.withLedger(async (ledger, redis) => {
    if (config.mongodbUrl) {
      const [{ createMongoSnapshotStore }, { createMongoAirdropStore }] = await Promise.all([import('../snapshots/store/mongo.ts'), import('../airdrops/store/mongo.ts')]);
      const snapshots = await createMongoSnapshotStore({ url: config.mongodbUrl });
      const airdrops = await createMongoAirdropStore({ url: config.mongodbUrl }).catch(async (error: unknown) => { await snapshots.close(); throw error; });
      try { return await fn({ ledger, snapshots, airdrops }); } finally { await Promise.allSettled([snapshots.close(), airdrops.close()]); }
    }
    const [{ createRedisSnapshotStore }, { createRedisAirdropStore }, { isCluster }] = await Promise.all([
      import('../snapshots/store/redis.ts'), import('../airdrops/store/redis.ts'), import('../connections.ts'),
    ]);
    const cluster = isCluster(redis);
    return fn({
      ledger,
      snapshots: createRedisSnapshotStore({ redis, keyPrefix: cluster ? `{${ns}:snap}:` : `${ns}:snap:` }),
      airdrops: createRedisAirdropStore({ redis, keyPrefix: cluster ? `{${ns}:airdrop}:` : `${ns}:airdrop:` }),
    });
  });
}

function checkOptions(options: AirdropOptions): { rule: 'fixed'; amount: string } | { rule: 'proRata'; total: string } {
  if (options.snapshot === undefined) throw new UsageError('give the snapshot to airdrop from: --snapshot <snapshotId>');
  if ((options.fixed === undefined) === (options.proRata === undefined)) throw new UsageError('give exactly one rule: --fixed AMOUNT (each holder) or --pro-rata TOTAL (all holders together)');
  return options.fixed !== undefined ? { rule: 'fixed', amount: options.fixed } : { rule: 'proRata', total: options.proRata! };
}

async function runAirdropCommand(context: CliContext, symbol: string, options: AirdropOptions): Promise<void> {
  const rule = checkOptions(options);
  const key = cliAirdropKey(symbol, options);
  const config = loadConfig(context.env, ['dataDir', 'mongodbUrl', 'jobs', 'airdrops']);
  const { createAirdropService } = await import('../airdrops/service.ts');
  const ipfs = lazyIpfs(config.dataDir);
  try {
    const done = await withStores(context, config, async ({ ledger, snapshots, airdrops }) => {
      const service: AirdropService = createAirdropService({
        store: airdrops, snapshots, ipfs: ipfs.store, ledger, chunkLegs: config.airdrops.chunkLegs, chunkPauseMs: config.airdrops.chunkPauseMs,
      });
      const { record, created } = await service.request({
        symbol, snapshotId: options.snapshot!, from: options.from, ...rule, minBalance: options.minBalance, exclude: options.exclude,
        requestedBy: context.env.USER ?? 'cli', idempotencyKey: key,
      });
      if (record.status === 'completed') return record;
      if (!created) process.stderr.write(`tally: airdrop ${record.airdropId} was requested before with these arguments (${record.paid} of ${record.legs} legs paid); resuming it\n`);
      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar({ stream: process.stderr, hideCursor: false, format: `airdrop ${symbol} [{bar}] {percentage}% | {value}/{total} legs` }, cliProgress.Presets.shades_classic)
        : null;
      bar?.start(record.legs, record.paid);
      try {
        return await service.run(record.airdropId, { onProgress: (r) => { bar?.update(r.paid); } });
      } finally {
        bar?.stop();
      }
    });
    context.print(JSON.stringify({ airdropId: done.airdropId, symbol: done.symbol, snapshotId: done.snapshotId, planCid: done.planCid,
      legs: done.legs, paid: done.paid, total: done.total, status: done.status }));
  } finally {
    await ipfs.stop();
  }
}

/** Registers `tally airdrop` and returns it (sub-commands may be added to it). */
export function registerAirdropCommand(program: Command, context: CliContext): Command {
  return program.command('airdrop')
    .description('airdrop a Tally token to the holders of a completed snapshot, exactly once (plan on IPFS first, then paid in chunks); prints {airdropId, symbol, snapshotId, planCid, legs, paid, total, status}')
    .argument('<SYM>', 'the Tally token to pay in')
    .option('--snapshot <snapshotId>', 'the completed snapshot whose holders are paid (a Hedera snapshot of one token, or a ledger snapshot)')
    .option('--from <account>', 'the ledger account that pays (default: the token\'s treasury)')
    .option('--fixed <AMOUNT>', 'pay each holder AMOUNT base units')
    .option('--pro-rata <TOTAL>', 'split TOTAL base units by balance, exactly (largest remainders, ties by account)')
    .option('--min-balance <N>', 'leave out holders below N base units of the snapshot\'s token')
    .option('--exclude <accounts>', 'leave these accounts out (comma-separated, or repeated)', collectAccounts)
    .option('--key <K>', 'the request\'s idempotency key (default: derived from the arguments, so running the same command again resumes the same airdrop)')
    // Options after a sub-command's name are the sub-command's (`tally airdrop hedera --snapshot ...`).
    .enablePositionalOptions()
    .action((symbol: string, options: AirdropOptions) => runAirdropCommand(context, symbol, options));
}
