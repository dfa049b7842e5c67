// `tally init | balance | transfer | burn | top`: the ledger from a terminal, straight to Redis
// through the ledger client. Amounts are base units unless --human (tokens, converted exactly).
import { BigNumber } from 'bignumber.js';
import { InvalidArgumentError, type Command } from 'commander';
import type { Ledger } from '../ledger/client.ts';
import { UsageError, type CliContext } from './context.ts';
import { withAsOf } from './history.ts';

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

export function integerOption(name: string, min: number, max: number) {
  return (value: string) => {
    if (!/^[0-9]{1,10}$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    }
    return Number(value);
  };
}

export const json = (value: unknown) => JSON.stringify(value);
const atHelp = 'as of an event id (ms-seq) or ISO 8601 time: exact, from the nearest ledger snapshot and the log after it';
export const decimalsOf = (ledger: Ledger, symbol: string) => ledger.info(symbol).then((info) => info.decimals);

/** `tally init`, `transfer`, `burn`. */
function registerWriteCommands(program: Command, context: CliContext): void {
  const { withLedger, print } = context;

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
}

/** `tally balance`, `top`. */
function registerReadCommands(program: Command, context: CliContext): void {
  const { withLedger, print } = context;

  program.command('balance')
    .description("one account's balance")
    .argument('<SYM>', 'token symbol')
    .argument('<account>', 'ledger account')
    .option('--human', 'print in tokens, using the token decimals')
    .option('--at <at>', atHelp)
    .action(async (symbol: string, account: string, options: { human?: boolean; at?: string }) => {
      const text = await withLedger(async (ledger) => {
        const { at } = options;
        const balance = at === undefined ? await ledger.balance(symbol, account) : await withAsOf(context, ledger, async (asOf) => (await asOf.balance(symbol, account, at)).balance);
        return options.human ? fromBaseUnits(balance, await decimalsOf(ledger, symbol)) : balance;
      });
      print(text);
    });

  program.command('top')
    .description('the largest holders, one "account<TAB>balance" line each')
    .argument('<SYM>', 'token symbol')
    .option('--limit <n>', 'how many, 1..1000', integerOption('limit', 1, 1000), 10)
    .option('--human', 'balances in tokens, using the token decimals')
    .option('--at <at>', atHelp)
    .action(async (symbol: string, options: { limit: number; human?: boolean; at?: string }) => {
      const lines = await withLedger(async (ledger) => {
        const { at } = options;
        const holders = at === undefined ? await ledger.top(symbol, options.limit) : await withAsOf(context, ledger, async (asOf) => (await asOf.holders(symbol, at, { limit: options.limit })).holders);
        const decimals = options.human ? await decimalsOf(ledger, symbol) : 0;
        return holders.map((h) => `${h.account}\t${options.human ? fromBaseUnits(h.balance, decimals) : h.balance}`);
      });
      for (const line of lines) print(line);
    });
}

export function registerLedgerCommands(program: Command, context: CliContext): void {
  registerWriteCommands(program, context);
  registerReadCommands(program, context);
}
