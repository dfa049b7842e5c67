// The benchmark's token and holders, identical on both sides of every comparison: Hedera-style
// accounts `0.0.N`, balances drawn from a seeded generator, and fast population of a Tally token
// (ledger_transfer_batch, 1,000 legs per call, pipelined) and of the original design's keys
// (baseline_seed, 1,000 users per call, pipelined).
import { tokenKeys } from '../../src/ledger/keys.ts';
import { fcall, type BenchClient } from './redis-fixture.ts';
import { runBounded } from './timing.ts';
import { seededFractions } from '../../testkit/random.ts';

export const benchSymbol = 'BENCH';
export const benchKeys = tokenKeys(benchSymbol);
export const treasury = 'treasury';
export const baselineZset = 'balances:zset';
export const legsPerBatch = 1000;
/** Calls in flight per connection while populating: enough to keep the server busy. */
const populateInFlightPerClient = 2;

export const baselineBalanceKey = (account: string) => `balance:{${account}}`;
export const holderAccount = (i: number) => `0.0.${1_000_000 + i}`;

/**
 * Balances spread log-uniformly over 1 .. 10^14 (a token with 8 decimals holds up to a million
 * whole tokens per account): below 2^53, so the original design's doubles stay exact and both
 * sides hold the same numbers.
 */
export function holderBalances(count: number, seed = 1): string[] {
  const random = seededFractions(seed);
  return Array.from({ length: count }, () => String(1 + Math.floor(10 ** (random() * 14))));
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

const indexes = (count: number) => Array.from({ length: count }, (_, i) => i);

/** Creates the token with a supply equal to the sum of the balances, all in the treasury. */
export async function initLedgerToken(client: BenchClient, balances: string[]): Promise<void> {
  const supply = balances.reduce((sum, b) => sum + BigInt(b), 0n).toString();
  await fcall(client, 'ledger_init', [benchKeys.token], ['Bench token', '8', supply, treasury]);
}

/**
 * Pays every holder its balance from the treasury, which ends at 0 and so holds no entry: the
 * token then has exactly `accounts.length` holders.
 */
export async function payHolders(clients: BenchClient[], accounts: string[], balances: string[]): Promise<void> {
  const batches = chunk(indexes(accounts.length), legsPerBatch);
  await runBounded(batches, clients.length * populateInFlightPerClient, (batch, b) => {
    const args = ['-', String(batch.length)];
    for (const i of batch) args.push(treasury, accounts[i]!, balances[i]!);
    return fcall(clients[b % clients.length]!, 'ledger_transfer_batch', [benchKeys.token], args);
  });
}

export async function populateLedger(clients: BenchClient[], accounts: string[], balances: string[]): Promise<void> {
  await initLedgerToken(clients[0]!, balances);
  await payHolders(clients, accounts, balances);
}

/** The original design's state: a `balance:{account}` string per holder and `balances:zset`. */
export async function populateBaseline(clients: BenchClient[], accounts: string[], balances: string[]): Promise<void> {
  const batches = chunk(indexes(accounts.length), legsPerBatch);
  await runBounded(batches, clients.length * populateInFlightPerClient, (batch, b) => {
    const keys = [baselineZset];
    const args: string[] = [];
    for (const i of batch) {
      keys.push(baselineBalanceKey(accounts[i]!));
      args.push(accounts[i]!, balances[i]!);
    }
    return fcall(clients[b % clients.length]!, 'baseline_seed', keys, args);
  });
}
