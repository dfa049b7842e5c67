// A token with a realistic mix of operations (single transfers, burns, batches of 20..100 legs),
// sent fast (ledger_transfer_batch and pipelining on one connection, which Redis runs in order),
// beside an independent exact model: BigInt balances updated in the order the operations were
// sent, so the model after operation k is the ledger after that operation's event id. Amounts
// reach 10^55 and more, far past 2^53. Every operation is checked against the model before it is
// sent, so none fails; the test asserts it.
import type { Ledger } from '../../src/ledger/client.ts';
import { seededFractions, seededRandom } from '../../testkit/random.ts';

export interface ModelPoint {
  eventId: string;
  /** Operations (legs, transfers, burns) applied up to eventId. */
  operations: number;
  balances: Map<string, bigint>;
  circulating: bigint;
}

export interface Workload {
  symbol: string;
  name: string;
  decimals: number;
  totalSupply: bigint;
  /** The model at the end of every round, in order. */
  rounds: ModelPoint[];
  accounts: string[];
}

const commandsPerRound = 400;

/** Accounts of both kinds, so both orderings of the holder lines are exercised. */
export const workloadAccounts = (count: number): string[] =>
  Array.from({ length: count }, (_, i) => (i % 2 === 0 ? `0.0.${1000 + i * 7}` : `acct-${i}.x@y`));

export async function generateWorkload(ledger: Ledger, symbol: string, options: { operations: number; accounts: number; seed: number }): Promise<Workload> {
  const random = seededRandom(options.seed);
  const fraction = seededFractions(options.seed + 1);
  const pick = <T>(list: T[]) => list[Math.floor(fraction() * list.length)]!;
  const accounts = workloadAccounts(options.accounts);
  const treasury = '0.0.2';
  const totalSupply = 10n ** 60n;
  const name = `History ${symbol}`;
  await ledger.init(symbol, { name, decimals: 18, totalSupply: String(totalSupply), treasury });
  const balances = new Map<string, bigint>([[treasury, totalSupply]]);
  let circulating = totalSupply;
  const move = (from: string, to: string, amount: bigint) => {
    const left = balances.get(from)! - amount;
    if (left === 0n) balances.delete(from); else balances.set(from, left);
    balances.set(to, (balances.get(to) ?? 0n) + amount);
  };
  // A random amount of at most a quarter of the balance (at least 1); null when the account holds nothing.
  const amountFrom = (account: string): bigint | null => {
    const balance = balances.get(account) ?? 0n;
    if (balance === 0n) return null;
    const scale = balance / 4n;
    return scale === 0n ? balance : 1n + ((random() << 192n) ^ (random() << 128n) ^ (random() << 64n) ^ random()) % scale;
  };

  const rounds: ModelPoint[] = [];
  let operations = 0;
  // First the treasury funds every account, in batches of 100 legs.
  let pending: Promise<{ eventId: string }>[] = [];
  for (let i = 0; i < accounts.length; i += 100) {
    const legs = accounts.slice(i, i + 100).map((to) => {
      const share = totalSupply / BigInt(2 * accounts.length);
      const amount = share - ((random() << 128n) ^ random()) % (share / 2n);
      move(treasury, to, amount);
      return { from: treasury, to, amount: String(amount) };
    });
    pending.push(ledger.transferBatch(symbol, { legs }));
    operations += legs.length;
  }
  const holders = [treasury, ...accounts];
  while (operations < options.operations) {
    for (let c = 0; c < commandsPerRound && operations < options.operations; c++) {
      const kind = fraction();
      if (kind < 0.04) {
        const account = pick(holders);
        const amount = amountFrom(account);
        if (amount === null) continue;
        balances.set(account, balances.get(account)! - amount);
        if (balances.get(account) === 0n) balances.delete(account);
        circulating -= amount;
        pending.push(ledger.burn(symbol, { account, amount: String(amount) }));
        operations += 1;
      } else if (kind < 0.9) {
        const [from, to] = [pick(holders), pick(holders)];
        const amount = from === to ? null : amountFrom(from);
        if (amount === null) continue;
        move(from, to, amount);
        pending.push(ledger.transfer(symbol, { from, to, amount: String(amount) }));
        operations += 1;
      } else {
        const legs: { from: string; to: string; amount: string }[] = [];
        const size = 20 + Math.floor(fraction() * 81);
        while (legs.length < size) {
          const [from, to] = [pick(holders), pick(holders)];
          const amount = from === to ? null : amountFrom(from);
          if (amount === null) continue;
          move(from, to, amount);
          legs.push({ from, to, amount: String(amount) });
        }
        pending.push(ledger.transferBatch(symbol, { legs }));
        operations += legs.length;
      }
    }
    const receipts = await Promise.all(pending);
    pending = [];
    rounds.push({ eventId: receipts.at(-1)!.eventId, operations, balances: new Map(balances), circulating });
  }
  return { symbol, name, decimals: 18, totalSupply, rounds, accounts: holders };
}

/** The holder-line order, written here from the documentation, not imported: Hedera ids by number first, then byte order. */
export function expectedOrder(a: string, b: string): number {
  const hedera = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/; // canonical ids only: 0.0.010 is another account
  const [x, y] = [hedera.exec(a), hedera.exec(b)];
  if (x && y) {
    for (let i = 1; i <= 3; i++) if (BigInt(x[i]!) !== BigInt(y[i]!)) return BigInt(x[i]!) < BigInt(y[i]!) ? -1 : 1;
    return 0;
  }
  if (x || y) return x ? -1 : 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The exact bytes docs/snapshot-format.md promises for the model at a point. */
export function expectedSnapshot(w: Workload, point: ModelPoint): string {
  const ms = BigInt(point.eventId.split('-')[0]!);
  const header = `{"tokenId":"${w.symbol}","network":"ledger","timestamp":"${ms / 1000n}.${String(ms % 1000n).padStart(3, '0')}000000","name":"${w.name}","symbol":"${w.symbol}","decimals":${w.decimals},"totalSupply":"${w.totalSupply}","type":"TALLY_LEDGER","eventId":"${point.eventId}","circulatingSupply":"${point.circulating}"}\n`;
  const lines = [...point.balances].filter(([, b]) => b > 0n).sort(([a], [b]) => expectedOrder(a, b)).map(([account, balance]) => `{"account":"${account}","balance":"${balance}"}\n`);
  return header + lines.join('');
}

/** ledger_top's order over the model: balance descending, ties by account ascending. */
export function expectedTop(point: ModelPoint, limit: number): { account: string; balance: string }[] {
  return [...point.balances].filter(([, b]) => b > 0n)
    .sort(([a, x], [b, y]) => (x === y ? Buffer.compare(Buffer.from(a), Buffer.from(b)) : x > y ? -1 : 1))
    .slice(0, limit).map(([account, balance]) => ({ account, balance: String(balance) }));
}
