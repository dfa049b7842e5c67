// The `tally` command (bin/tally.js): the ledger from a terminal (src/cli/ledger.ts, reads in
// inspect.ts, batches in batch.ts), a dev JWT (token.ts), snapshots (snapshots.ts), airdrops into a
// Tally token (airdrop.ts) and Hedera airdrop plans (airdrop-hedera.ts) and shell
// completion (completion.ts), each a plain module registered here. Redis comes from
// REDIS_URL or REDIS_CLUSTER_URLS (or a .env file), read by src/config.ts like everything else.
// Exit codes: 0 ok, 1 ledger or connection error (the code is printed), 2 usage. A closed stdout
// (`tally cat <cid> | head`) is a normal end: output stops and the exit is 0.
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig, readEnv, type Env } from '../config.ts';
import { TallyError } from '../errors.ts';
import { withTimeout } from '../time.ts';
import { tallyVersion } from '../version.ts';
import { UsageError, type CliContext } from './context.ts';
import { registerAirdropCommand } from './airdrop.ts';
import { registerHederaAirdropCommand } from './airdrop-hedera.ts';
import { AuditFailedError, registerAuditCommand } from './audit.ts';
import { registerBatchCommand } from './batch.ts';
import { registerCompletionCommand } from './completion.ts';
import { registerInspectCommands } from './inspect.ts';
import { registerLedgerCommands } from './ledger.ts';
import { registerSnapshotCommands } from './snapshots.ts';
import { registerTokenCommand } from './token.ts';

const exitOk = 0;
const exitFailure = 1;
const exitUsage = 2;
const commandTimeoutMs = 10_000;
const connectDeadlineMs = 5_000;

class ConnectError extends Error {}

const isClosedPipe = (error: unknown) => (error as { code?: string } | null)?.code === 'EPIPE';

/** Aborts when the reader of stdout goes away (EPIPE); other stdout errors stay fatal. */
function watchStdout(): AbortSignal {
  const closed = new AbortController();
  process.stdout.on('error', (error) => {
    if (!isClosedPipe(error)) throw error;
    closed.abort();
  });
  return closed.signal;
}

function createContext(env: Env, outputClosed: AbortSignal): CliContext {
  return {
    env,
    outputClosed,
    print: (line) => { if (!outputClosed.aborted) process.stdout.write(`${line}\n`); },
    async withLedger(fn) {
      const target = loadConfig(env, ['redis']).redis;
      // Loaded here so that --help and `tally token` start fast.
      const [{ connectRedis }, { createLedger }] = await Promise.all([import('../connections.ts'), import('../ledger/client.ts')]);
      const where = target.url ?? target.clusterUrls.join(',');
      // The client reconnects forever; a terminal command gives up at the first failure.
      let failConnect: (error: Error) => void = () => {};
      const connectFailed = new Promise<never>((_, reject) => { failConnect = reject; });
      const connecting = connectRedis({ ...target, commandTimeoutMs, onError: () => failConnect(new ConnectError(`cannot reach Redis at ${where}`)) });
      const redis = await withTimeout(Promise.race([connecting, connectFailed]), connectDeadlineMs, `reaching Redis at ${where}`)
        .catch((error: Error) => { throw error instanceof ConnectError ? error : new ConnectError(`cannot reach Redis at ${where} (no answer within ${connectDeadlineMs} ms)`); });
      try {
        return await fn(createLedger(redis), redis);
      } finally {
        redis.destroy();
      }
    },
  };
}

export function buildProgram(context: CliContext): Command {
  const program = new Command('tally')
    .description('Tally: an exact token ledger on Redis. Amounts are base-unit integers unless --human.')
    .version(tallyVersion, '-V, --version', 'print the version')
    .showHelpAfterError('(run tally --help for usage)')
    // A command's options are its own: `tally airdrop hedera --snapshot X` gives --snapshot to
    // `hedera`, not to `airdrop` (which has one too). Root options (--version) come first.
    .enablePositionalOptions()
    .exitOverride();
  registerLedgerCommands(program, context);
  registerInspectCommands(program, context);
  registerBatchCommand(program, context);
  registerAuditCommand(program, context);
  registerTokenCommand(program, context);
  registerSnapshotCommands(program, context);
  registerHederaAirdropCommand(registerAirdropCommand(program, context), context);
  registerCompletionCommand(program, context);
  // Sub-commands inherit exitOverride only when set before they are added; set it on each.
  for (const command of program.commands) command.exitOverride();
  return program;
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return exitOk;
    // `tally help top` (0) or the help printed for a bare `tally` (1).
    if (error.code === 'commander.help' && error.exitCode === 0) return exitOk;
    return exitUsage; // commander already printed the message
  }
  // The reader went away mid-write (a pipeline to stdout rejects with it): not a failure.
  if (isClosedPipe(error)) return exitOk;
  if (error instanceof UsageError || error instanceof ConfigError) {
    process.stderr.write(`tally: ${error.message}\n`);
    return exitUsage;
  }
  if (error instanceof AuditFailedError) {
    process.stderr.write(`tally: ${error.message}\n`);
    return exitFailure;
  }
  if (error instanceof TallyError) {
    process.stderr.write(`tally: ${error.code}: ${error.message}\n`);
    return exitFailure;
  }
  process.stderr.write(`tally: ${error instanceof Error ? error.message : String(error)}\n`);
  return exitFailure;
}

/** Runs the command line; resolves with the exit code. */
export async function run(argv: string[] = process.argv, env: Env = readEnv()): Promise<number> {
  const outputClosed = watchStdout();
  try {
    await buildProgram(createContext(env, outputClosed)).parseAsync(argv);
    return exitOk;
  } catch (error) {
    return report(error);
  }
}
