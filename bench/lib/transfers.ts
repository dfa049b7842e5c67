// The transfer workload of the throughput and latency scenarios: a token with a few thousand
// funded holders on both sides and a fixed pool of random legs (from, to, amount) that every
// side replays in the same order. Amounts are small next to the balances, so no transfer fails.
import { benchKeys, baselineBalanceKey, baselineZset, holderAccount, populateBaseline, populateLedger } from './holders.ts';
import { seededFractions } from '../../testkit/random.ts';
import { fcall, type BenchClient, type BenchRedis } from './redis-fixture.ts';

export const transferHolders = 10_000;
const startBalance = '1000000000000'; // 10^12: a million random transfers cannot drain anyone
const amountMax = 1000;
const legPoolSize = 1 << 16;

export interface Leg { from: string; to: string; amount: string }

export function randomLegs(count: number, holders: number, seed: number): Leg[] {
  const random = seededFractions(seed);
  return Array.from({ length: count }, () => {
    const from = Math.floor(random() * holders);
    const to = (from + 1 + Math.floor(random() * (holders - 1))) % holders;
    return { from: holderAccount(from), to: holderAccount(to), amount: String(1 + Math.floor(random() * amountMax)) };
  });
}

/** Funds `transferHolders` accounts on both sides and returns the leg pool. */
export async function seedTransferWorkload(redis: BenchRedis): Promise<Leg[]> {
  const accounts = Array.from({ length: transferHolders }, (_, i) => holderAccount(i));
  const balances = accounts.map(() => startBalance);
  const clients = await redis.connect(4);
  await populateLedger(clients, accounts, balances);
  await populateBaseline(clients, accounts, balances);
  for (const client of clients) client.destroy();
  return randomLegs(legPoolSize, transferHolders, 7);
}

/** Operations that take the next leg of the pool on each call. */
export function transferOps(legs: Leg[]) {
  let next = 0;
  const leg = () => legs[next++ % legs.length]!;
  return {
    ledger: (client: BenchClient) => {
      const l = leg();
      return fcall(client, 'ledger_transfer', [benchKeys.token], [l.from, l.to, l.amount]);
    },
    /** With an opId, as the REST API sends one per Idempotency-Key: one more record per call. */
    ledgerWithOpId: (client: BenchClient) => {
      const l = leg();
      return fcall(client, 'ledger_transfer', [benchKeys.token], [l.from, l.to, l.amount, `op-${next}`]);
    },
    baseline: (client: BenchClient) => {
      const l = leg();
      return fcall(client, 'baseline_transfer', [baselineBalanceKey(l.from), baselineBalanceKey(l.to), baselineZset], [l.from, l.to, l.amount]);
    },
    /** Same key and arguments as a transfer, so the request costs the same to send and parse. */
    noop: (client: BenchClient) => {
      const l = leg();
      return fcall(client, 'baseline_noop', [benchKeys.token], [l.from, l.to, l.amount]);
    },
  };
}
