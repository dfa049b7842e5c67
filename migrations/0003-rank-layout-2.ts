// Moves every token to ranking layout 2: members of balances below 2^53 that library 1.0 left in
// `token:{SYM}:rank` go to `token:{SYM}:rank:small`, then the token hash gets rankLayout = 2 (see
// redis-functions/ledger/_lib.lua, Holder ranking). Each step is one ledger_upgrade call: atomic,
// at most 1,000 holders, checked against the balances hash, so it is safe under live traffic;
// library 2.0 ranks both layouts correctly until a token is done. Safe to run again.
import type { RedisConnection } from '../src/connections.ts';
import * as ledger from '../src/ledger/functions.ts';
import { tokenKeys } from '../src/ledger/keys.ts';
import { listTokens } from '../src/ledger/tokens.ts';

const tokensPerPage = 100;
const membersPerStep = 1_000;

/** Upgrades one token; returns the members moved. Bounded: each step removes the members it reads. */
export async function upgradeToken(redis: RedisConnection, symbol: string): Promise<number> {
  const stepsMax = Math.ceil(await redis.zCard(tokenKeys(symbol).rank) / membersPerStep) + 2;
  let moved = 0;
  for (let step = 0; step < stepsMax; step++) {
    const result = await ledger.upgradeStep(redis, symbol);
    moved += result.moved;
    if (result.done) return moved;
  }
  throw new Error(`token ${symbol}: ranking not upgraded after ${stepsMax} steps`);
}

export default {
  description: 'ranking layout 2 for every token: one atomic ledger_upgrade call per step of 1,000 holders',
  async up(redis: RedisConnection) {
    let cursor: string | undefined;
    for (;;) {
      const page = await listTokens(redis, { limit: tokensPerPage, ...(cursor ? { cursor } : {}) });
      for (const symbol of page.symbols) await upgradeToken(redis, symbol);
      if (page.cursor === null) return;
      cursor = page.cursor;
    }
  },
} satisfies import('../src/migrate/migrations.ts').MigrationModule;
