// /ledger: `subscribe(SYM, ack)` then `transfer` and `burn` events of that token, relayed from
// the Redis channels token:{SYM}:transfers and token:{SYM}:burns. An admin receives every event
// of the token; any other user the events that touch their own account (the rule of the REST
// events route). The relay subscribes to a token's channels while at least one local socket
// follows it.
import type { Namespace } from 'socket.io';
import type { RedisClientType } from 'redis';
import type { ErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { tokenKeys } from '../ledger/keys.ts';
import { symbolPattern } from '../identifiers.ts';
import type { AuthedSocket } from './socket-auth.ts';

const tokensPerSocketMax = 100;

// Ack codes are catalog codes (src/errors.ts), like the REST error bodies.
type Ack = (reply: { ok: true } | { error: { code: ErrorCode; message: string } }) => void;

const allRoom = (symbol: string) => `ledger:${symbol}:all`;
const accountRoom = (symbol: string, account: string) => `ledger:${symbol}:account:${account}`;

function roomsOf(symbol: string, event: Record<string, unknown>): string[] {
  const rooms = [allRoom(symbol)];
  for (const field of ['from', 'to', 'account']) {
    if (typeof event[field] === 'string') rooms.push(accountRoom(symbol, event[field]));
  }
  return rooms;
}

export function attachLedgerNamespace(nsp: Namespace, sub: RedisClientType, tokenExists: (symbol: string) => Promise<boolean>, logger: Logger) {
  const followers = new Map<string, number>(); // symbol -> local sockets following it

  const relay = (type: 'transfer' | 'burn', symbol: string) => (message: string) => {
    let event: Record<string, unknown>;
    try { event = JSON.parse(message) as Record<string, unknown>; } catch { return; }
    nsp.local.to(roomsOf(symbol, event)).emit(type, event);
  };

  async function follow(symbol: string) {
    const count = followers.get(symbol) ?? 0;
    followers.set(symbol, count + 1);
    if (count > 0) return;
    const keys = tokenKeys(symbol);
    await sub.subscribe(keys.transfers, relay('transfer', symbol));
    await sub.subscribe(keys.burns, relay('burn', symbol));
  }

  async function unfollow(symbol: string) {
    const count = (followers.get(symbol) ?? 0) - 1;
    if (count > 0) { followers.set(symbol, count); return; }
    followers.delete(symbol);
    const keys = tokenKeys(symbol);
    await sub.unsubscribe([keys.transfers, keys.burns]).catch((error: Error) => logger.warn({ err: { message: error.message } }, 'ledger relay unsubscribe failed'));
  }

  nsp.on('connection', (rawSocket) => {
    const socket = rawSocket as AuthedSocket;
    const following = new Set<string>();
    socket.on('subscribe', async (symbol: unknown, ack?: Ack) => {
      const reply: Ack = typeof ack === 'function' ? ack : () => {};
      if (typeof symbol !== 'string' || !symbolPattern.test(symbol)) {
        return reply({ error: { code: 'INVALID_TOKEN', message: 'the token symbol must match ^[A-Z0-9][A-Z0-9_-]{0,31}$' } });
      }
      if (following.has(symbol)) return reply({ ok: true });
      if (following.size >= tokensPerSocketMax) {
        return reply({ error: { code: 'INVALID_ARGUMENT', message: `a socket may follow at most ${tokensPerSocketMax} tokens` } });
      }
      try {
        if (!(await tokenExists(symbol))) return reply({ error: { code: 'TOKEN_NOT_FOUND', message: `token ${symbol} does not exist` } });
        if (socket.disconnected) return;
        following.add(symbol);
        const { caller } = socket.data.auth;
        await socket.join(caller.admin ? allRoom(symbol) : accountRoom(symbol, caller.account));
        await follow(symbol);
        reply({ ok: true });
      } catch (error) {
        logger.warn({ err: { message: (error as Error).message } }, 'ledger subscribe failed');
        reply({ error: { code: 'UNAVAILABLE', message: 'the ledger is unavailable, try again' } });
      }
    });
    socket.on('disconnect', () => {
      for (const symbol of following) void unfollow(symbol);
      following.clear();
    });
  });

  return {
    async close() {
      const symbols = [...followers.keys()];
      followers.clear();
      await Promise.allSettled(symbols.map((s) => sub.unsubscribe([tokenKeys(s).transfers, tokenKeys(s).burns])));
    },
  };
}
