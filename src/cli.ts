// The `tally` command (bin/tally.js): the ledger from a terminal, straight to Redis through the
// ledger client (REDIS_URL or REDIS_CLUSTER_URLS, or a .env file), plus `tally token` to mint a
// dev JWT. Exit codes: 0 ok, 1 ledger or connection error (the code is printed), 2 usage.
//
// Other parts add commands without editing this file's commands: a module listed in
// `commandModules` (loaded when the file exists) exports `registerCommands(program, context)`.
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BigNumber } from 'bignumber.js';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigError, loadRedisTarget, readEnv, type Env } from './config.ts';
import { TallyError } from './errors.ts';
import type { Ledger } from './ledger/client.ts';
import type { RedisConnection } from './redis.ts';

/** Modules that register more commands, relative to this file (e.g. `tally snapshot|cat|car`). */
export const commandModules = ['./snapshots/cli.ts'];

export interface CliContext {
  env: Env;
  /** Connects to Redis for the duration of `fn`, then closes. */
  withLedger<T>(fn: (ledger: Ledger, redis: RedisConnection) => Promise<T>): Promise<T>;
  /** One line on stdout. */
  print(line: string): void;
}

export type CommandRegistrar = (program: Command, context: CliContext) => void | Promise<void>;

/** A usage mistake the parser could not catch (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const exitOk = 0;
const exitFailure = 1;
const exitUsage = 2;
const commandTimeoutMs = 10_000;
const connectDeadlineMs = 5_000;
const ttlSecondsDefault = 3600;

// Human amounts: plain decimals only (no sign, exponent, spaces), converted exactly.
const humanAmountPattern = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;
const Big = BigNumber.clone({ EXPONENTIAL_AT: 1e9 });

export function toBaseUnits(human: string, decimals: number): string {
  if (!humanAmountPattern.test(human)) throw new UsageError(`"${human}" is not a decimal amount such as 1.5`);
  const base = new Big(human).shiftedBy(decimals);
  if (!base.isInteger()) throw new UsageError(`"${human}" has more than ${decimals} decimals`);
  return base.toFixed(0);
}

export function fromBaseUnits(amount: string, decimals: number): string {
  return new Big(amount).shiftedBy(-decimals).toFixed();
}

function integerOption(name: string, min: number, max: number) {
  return (value: string) => {
    if (!/^[0-9]{1,10}$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    }
    return Number(value);
  };
}

/** `3600`, `90s`, `15m`, `12h`, `7d` -> seconds. */
export function parseTtlSeconds(value: string): number {
  const match = /^([1-9][0-9]{0,8})([smhd]?)$/.exec(value);
  if (!match) throw new InvalidArgumentError('ttl must look like 3600, 90s, 15m, 12h or 7d');
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

const json = (value: unknown) => JSON.stringify(value);

export function registerLedgerCommands(program: Command, context: CliContext): void {
  const { withLedger, print } = context;
  const decimalsOf = (ledger: Ledger, symbol: string) => ledger.info(symbol).then((info) => info.decimals);

  program.command('init')
    .description('create a token; the treasury receives the whole supply')
    .argument('<SYM>', 'token symbol, e.g. GOLD')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--decimals <n>', 'decimals, 0..36', integerOption('decimals', 0, 36))
    .requiredOption('--supply <amount>', 'total supply in base units (with --human: in tokens)')
    .requiredOption('--treasury <account>', 'the account that receives the supply')
    .option('--human', 'the supply is in tokens, e.g. 1000000.5')
    .action(async (symbol: string, options: { name: string; decimals: number; supply: string; treasury: string; human?: boolean }) => {
      const totalSupply = options.human ? toBaseUnits(options.supply, options.decimals) : options.supply;
      const outcome = await withLedger((ledger) => ledger.init(symbol, { name: options.name, decimals: options.decimals, totalSupply, treasury: options.treasury }));
      print(json({ symbol, created: outcome === 'created', totalSupply, treasury: options.treasury }));
    });

  program.command('balance')
    .description("one account's balance")
    .argument('<SYM>', 'token symbol')
    .argument('<account>', 'ledger account')
    .option('--human', 'print in tokens, using the token decimals')
    .action(async (symbol: string, account: string, options: { human?: boolean }) => {
      const text = await withLedger(async (ledger) => {
        const balance = await ledger.balance(symbol, account);
        return options.human ? fromBaseUnits(balance, await decimalsOf(ledger, symbol)) : balance;
      });
      print(text);
    });

  program.command('transfer')
    .description('move an amount from one account to another')
    .argument('<SYM>', 'token symbol')
    .argument('<from>', 'source account')
    .argument('<to>', 'destination account')
    .argument('<amount>', 'amount in base units (with --human: in tokens)')
    .option('--op-id <opId>', 'idempotency id: a repeat returns the first result and moves nothing')
    .option('--human', 'amounts in tokens, using the token decimals')
    .action(async (symbol: string, from: string, to: string, amount: string, options: { opId?: string; human?: boolean }) => {
      const receipt = await withLedger(async (ledger) => {
        const decimals = options.human ? await decimalsOf(ledger, symbol) : 0;
        const base = options.human ? toBaseUnits(amount, decimals) : amount;
        const r = await ledger.transfer(symbol, { from, to, amount: base, ...(options.opId ? { opId: options.opId } : {}) });
        return options.human ? { ...r, fromBalance: fromBaseUnits(r.fromBalance, decimals), toBalance: fromBaseUnits(r.toBalance, decimals) } : r;
      });
      print(json(receipt));
    });

  program.command('burn')
    .description('destroy an amount held by an account')
    .argument('<SYM>', 'token symbol')
    .argument('<account>', 'the account to burn from')
    .argument('<amount>', 'amount in base units (with --human: in tokens)')
    .option('--op-id <opId>', 'idempotency id: a repeat returns the first result and burns nothing')
    .option('--human', 'amounts in tokens, using the token decimals')
    .action(async (symbol: string, account: string, amount: string, options: { opId?: string; human?: boolean }) => {
      const receipt = await withLedger(async (ledger) => {
        const decimals = options.human ? await decimalsOf(ledger, symbol) : 0;
        const base = options.human ? toBaseUnits(amount, decimals) : amount;
        const r = await ledger.burn(symbol, { account, amount: base, ...(options.opId ? { opId: options.opId } : {}) });
        return options.human ? { ...r, balance: fromBaseUnits(r.balance, decimals), circulatingSupply: fromBaseUnits(r.circulatingSupply, decimals) } : r;
      });
      print(json(receipt));
    });

  program.command('top')
    .description('the largest holders, one "account<TAB>balance" line each')
    .argument('<SYM>', 'token symbol')
    .option('--limit <n>', 'how many, 1..1000', integerOption('limit', 1, 1000), 10)
    .option('--human', 'balances in tokens, using the token decimals')
    .action(async (symbol: string, options: { limit: number; human?: boolean }) => {
      const lines = await withLedger(async (ledger) => {
        const holders = await ledger.top(symbol, options.limit);
        const decimals = options.human ? await decimalsOf(ledger, symbol) : 0;
        return holders.map((h) => `${h.account}\t${options.human ? fromBaseUnits(h.balance, decimals) : h.balance}`);
      });
      for (const line of lines) print(line);
    });
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** An HS256 JWT, signed with node:crypto (no dev dependency needed at run time). */
export function signHs256(claims: Record<string, unknown>, secret: string): string {
  const body = `${base64url(json({ alg: 'HS256', typ: 'JWT' }))}.${base64url(json(claims))}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

function devSecret(env: Env): string {
  if (env.JWT_SECRET) return env.JWT_SECRET;
  const file = join(env.DATA_DIR || './data', 'dev-jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new UsageError(`set JWT_SECRET (or run \`make run\` once, which writes ${file})`);
}

export function registerTokenCommand(program: Command, context: CliContext): void {
  program.command('token')
    .description('mint an HS256 JWT for the API with JWT_SECRET (or data/dev-jwt-secret), for development')
    .argument('<sub>', 'the ledger account the token acts as')
    .option('--admin', 'add roles: ["admin"]')
    .option('--ttl <duration>', 'lifetime: 3600, 90s, 15m, 12h, 7d', parseTtlSeconds, ttlSecondsDefault)
    .action((sub: string, options: { admin?: boolean; ttl: number }) => {
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = { sub, roles: options.admin ? ['admin'] : [], iat: now, exp: now + options.ttl, jti: randomUUID() };
      if (context.env.JWT_ISSUER) claims.iss = context.env.JWT_ISSUER;
      const audience = context.env.JWT_AUDIENCE?.split(',').map((s) => s.trim()).filter(Boolean);
      if (audience && audience.length > 0) claims.aud = audience.length === 1 ? audience[0] : audience;
      context.print(signHs256(claims, devSecret(context.env)));
    });
}

function createContext(env: Env): CliContext {
  return {
    env,
    print: (line) => { process.stdout.write(`${line}\n`); },
    async withLedger(fn) {
      const target = loadRedisTarget(env);
      // Loaded here so that --help and `tally token` start fast.
      const [{ connectRedis }, { createLedger }] = await Promise.all([import('./redis.ts'), import('./ledger/client.ts')]);
      const where = target.url ?? target.clusterUrls.join(',');
      // The client reconnects forever; a terminal command gives up at the first failure.
      let failConnect: (error: Error) => void = () => {};
      const connectFailed = new Promise<never>((_, reject) => { failConnect = reject; });
      const redis = await Promise.race([
        connectRedis({ ...target, commandTimeoutMs, onError: () => failConnect(new ConnectError(`cannot reach Redis at ${where}`)) }),
        connectFailed,
        deadline(connectDeadlineMs, `cannot reach Redis at ${where} (no answer within ${connectDeadlineMs} ms)`),
      ]);
      try {
        return await fn(createLedger(redis), redis);
      } finally {
        redis.destroy();
      }
    },
  };
}

class ConnectError extends Error {}

function deadline(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => { setTimeout(() => reject(new ConnectError(message)), ms).unref(); });
}

export async function buildProgram(context: CliContext, modules = commandModules): Promise<Command> {
  const program = new Command('tally')
    .description('Tally: an exact token ledger on Redis. Amounts are base-unit integers unless --human.')
    .showHelpAfterError('(run tally --help for usage)')
    .exitOverride();
  registerLedgerCommands(program, context);
  registerTokenCommand(program, context);
  for (const module of modules) {
    const url = new URL(module, import.meta.url);
    if (!existsSync(url)) continue;
    const loaded = await import(url.href) as { registerCommands?: CommandRegistrar };
    await loaded.registerCommands?.(program, context);
  }
  // Sub-commands inherit exitOverride only when set before they are added; set it on each.
  for (const command of program.commands) command.exitOverride();
  return program;
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return exitOk;
    return exitUsage; // commander already printed the message
  }
  if (error instanceof UsageError || error instanceof ConfigError) {
    process.stderr.write(`tally: ${error.message}\n`);
    return exitUsage;
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
  try {
    const program = await buildProgram(createContext(env));
    await program.parseAsync(argv);
    return exitOk;
  } catch (error) {
    return report(error);
  }
}
