// `tally info | supply | tokens | events`: reading the ledger from a terminal. `events --follow`
// polls ledger_events at a bounded interval until Ctrl-C (SIGINT), SIGTERM or a closed stdout.
import type { Command } from 'commander';
import type { LedgerEvent } from '../ledger/functions.ts';
import type { Ledger } from '../ledger/client.ts';
import { sleep } from '../time.ts';
import type { CliContext } from './context.ts';
import { decimalsOf, fromBaseUnits, integerOption, json } from './ledger.ts';

const tokensMax = 10_000;
const tokensDefault = 1_000;
const tokenPagesMax = 1_000;
const eventsPageMax = 1_000; // ledger_events' count bound
const eventsLimitMax = 1_000_000;
const eventsLimitDefault = 100;
const intervalMsMin = 100;
const intervalMsMax = 60_000;
const intervalMsDefault = 1_000;

/** `tally info`, `supply`. */
function registerTokenReads(program: Command, context: CliContext): void {
  const { withLedger, print } = context;

  program.command('info')
    .description('a token: name, symbol, decimals, supplies, treasury, createdAt, opTtlSeconds, holders (one JSON line)')
    .argument('<SYM>', 'token symbol')
    .option('--human', 'supplies in tokens, using the token decimals')
    .action(async (symbol: string, options: { human?: boolean }) => {
      const info = await withLedger((ledger) => ledger.info(symbol));
      print(json(options.human ? { ...info, totalSupply: fromBaseUnits(info.totalSupply, info.decimals), circulatingSupply: fromBaseUnits(info.circulatingSupply, info.decimals) } : info));
    });

  program.command('supply')
    .description('a token\'s total and circulating supply (one JSON line)')
    .argument('<SYM>', 'token symbol')
    .option('--human', 'in tokens, using the token decimals')
    .action(async (symbol: string, options: { human?: boolean }) => {
      const supply = await withLedger(async (ledger) => {
        const s = await ledger.supply(symbol);
        if (!options.human) return s;
        const decimals = await decimalsOf(ledger, symbol);
        return { totalSupply: fromBaseUnits(s.totalSupply, decimals), circulatingSupply: fromBaseUnits(s.circulatingSupply, decimals) };
      });
      print(json(supply));
    });
}

/** Up to `limit` token symbols, sorted; the scan is paged and the pages are bounded. */
async function collectTokens(ledger: Ledger, limit: number): Promise<string[]> {
  const symbols = new Set<string>();
  let cursor: string | undefined;
  for (let pages = 0; pages < tokenPagesMax && symbols.size < limit; pages++) {
    const page = await ledger.listTokens({ limit: limit - symbols.size, ...(cursor ? { cursor } : {}) });
    for (const symbol of page.symbols) symbols.add(symbol);
    if (page.cursor === null) break;
    cursor = page.cursor;
  }
  return [...symbols].sort().slice(0, limit);
}

function registerTokensCommand(program: Command, context: CliContext): void {
  program.command('tokens')
    .description('the token symbols in this Redis, one a line, sorted')
    .option('--limit <n>', `at most this many, 1..${tokensMax}`, integerOption('limit', 1, tokensMax), tokensDefault)
    .action(async (options: { limit: number }) => {
      const symbols = await context.withLedger((ledger) => collectTokens(ledger, options.limit));
      for (const symbol of symbols) context.print(symbol);
    });
}

interface EventsOptions { after?: string; account?: string; limit?: number; follow?: boolean; intervalMs: number; human?: boolean }

function humanEvent(event: LedgerEvent, decimals: number): LedgerEvent {
  const out = { ...event };
  if (out.amount !== undefined) out.amount = fromBaseUnits(out.amount, decimals);
  if (out.legs) out.legs = out.legs.map((leg) => ({ ...leg, amount: fromBaseUnits(leg.amount, decimals) }));
  return out;
}

/** Prints events after `after`; with follow, polls for more until `stop` aborts. */
async function tailEvents(context: CliContext, ledger: Ledger, symbol: string, options: EventsOptions, stop: AbortSignal): Promise<void> {
  const decimals = options.human ? await decimalsOf(ledger, symbol) : 0;
  const limit = options.limit ?? (options.follow ? Infinity : eventsLimitDefault);
  let after = options.after ?? '-';
  let printed = 0;
  while (printed < limit && !stop.aborted) {
    const page = await ledger.events(symbol, { after, count: Math.min(eventsPageMax, limit - printed), ...(options.account ? { account: options.account } : {}) });
    for (const event of page.events) context.print(json(options.human ? humanEvent(event, decimals) : event));
    printed += page.events.length;
    const moved = page.next !== after;
    after = page.next;
    if (moved) continue;
    if (!options.follow) break;
    await sleep(options.intervalMs, stop).catch(() => { /* stopped */ });
  }
}

function registerEventsCommand(program: Command, context: CliContext): void {
  program.command('events')
    .description('a token\'s log, oldest first, one JSON line per event; --follow keeps printing new ones until Ctrl-C')
    .argument('<SYM>', 'token symbol')
    .option('--after <eventId>', 'start after this event id (default: the start of the log)')
    .option('--account <account>', 'only events touching this account')
    .option('--limit <n>', `stop after n events, 1..${eventsLimitMax} (default ${eventsLimitDefault}; with --follow: no limit)`, integerOption('limit', 1, eventsLimitMax))
    .option('-f, --follow', 'keep polling for new events')
    .option('--interval-ms <ms>', `poll interval with --follow, ${intervalMsMin}..${intervalMsMax}`, integerOption('interval-ms', intervalMsMin, intervalMsMax), intervalMsDefault)
    .option('--human', 'amounts in tokens, using the token decimals')
    .action(async (symbol: string, options: EventsOptions) => {
      const interrupted = new AbortController();
      const onSignal = () => interrupted.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const stop = AbortSignal.any([interrupted.signal, context.outputClosed]);
        await context.withLedger((ledger) => tailEvents(context, ledger, symbol, options, stop));
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

export function registerInspectCommands(program: Command, context: CliContext): void {
  registerTokenReads(program, context);
  registerTokensCommand(program, context);
  registerEventsCommand(program, context);
}
