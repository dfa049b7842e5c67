// 32 connections issuing random transfers and burns at once. Afterwards the balances sum to the
// circulating supply, none is negative, and every log entry matches one committed reply.
import { expect } from 'chai';
import type { RedisClientType } from 'redis';
import { connect } from '../../testkit/clients.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import * as ledger from '../../src/ledger/functions.ts';
import { LedgerError } from '../../src/ledger/errors.ts';

const connections = 32;
const opsPerConnection = 150;
const accounts = Array.from({ length: 12 }, (_, i) => `acct-${i}`);

function pick<T>(list: T[]): T { return list[Math.floor(Math.random() * list.length)]!; }

describe('ledger under concurrency', function () {
  this.timeout(60_000);
  let clients: RedisClientType[] = [];
  after(() => { for (const c of clients) c.destroy(); });

  it('keeps the books balanced with 32 connections at once', async () => {
    clients = await Promise.all(Array.from({ length: connections }, () => connect(sharedRedisUrl())));
    const sym = uniqueSymbol('C');
    await ledger.init(clients[0]!, sym, { name: 'C', decimals: 0, totalSupply: (10n ** 30n).toString(), treasury: 'acct-0' });
    // Seed every account so that most random operations can succeed.
    await ledger.transferBatch(clients[0]!, sym, { legs: accounts.slice(1).map((to) => ({ from: 'acct-0', to, amount: (10n ** 20n).toString() })) });

    const committed = new Map<string, { kind: string; from: string; to?: string; amount: string }>();
    let rejected = 0;
    await Promise.all(clients.map(async (client, c) => {
      for (let i = 0; i < opsPerConnection; i++) {
        const amount = (BigInt(Math.floor(Math.random() * 1e6)) * 10n ** BigInt(Math.floor(Math.random() * 16)) + 1n).toString();
        const from = pick(accounts);
        try {
          if (Math.random() < 0.8) {
            let to = pick(accounts);
            if (to === from) to = accounts[(accounts.indexOf(from) + 1) % accounts.length]!;
            const r = await ledger.transfer(client, sym, { from, to, amount, opId: `c${c}-${i}` });
            committed.set(r.eventId, { kind: 'transfer', from, to, amount });
          } else {
            const r = await ledger.burn(client, sym, { account: from, amount, opId: `c${c}-${i}` });
            committed.set(r.eventId, { kind: 'burn', from, amount });
          }
        } catch (error) {
          if (!(error instanceof LedgerError) || error.code !== 'INSUFFICIENT_FUNDS') throw error;
          rejected++;
        }
      }
    }));

    const redis = clients[0]!;
    const balances = Object.values(await redis.hGetAll(`token:{${sym}}:balances`)).map((v) => BigInt(String(v)));
    expect(balances.every((b) => b > 0n)).to.equal(true);
    const { circulatingSupply } = await ledger.supply(redis, sym);
    expect(balances.reduce((a, b) => a + b, 0n)).to.equal(BigInt(circulatingSupply));

    const entries = await redis.xRange(`token:{${sym}}:log`, '-', '+');
    const operations = (entries ?? []).filter((e) => e.message.type === 'transfer' || e.message.type === 'burn');
    expect(operations).to.have.length(committed.size);
    for (const entry of operations) {
      const reply = committed.get(entry.id);
      expect(reply, `log entry ${entry.id} has no committed reply`).to.not.equal(undefined);
      expect(entry.message.type).to.equal(reply!.kind);
      expect(entry.message.amount).to.equal(reply!.amount);
      expect(entry.message[reply!.kind === 'burn' ? 'account' : 'from']).to.equal(reply!.from);
    }
    expect(committed.size + rejected).to.equal(connections * opsPerConnection);
    expect(committed.size).to.be.greaterThan(connections * opsPerConnection / 2);
  });
});
