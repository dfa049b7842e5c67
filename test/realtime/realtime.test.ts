// Socket.IO over real HTTP on loopback with real socket.io-client connections: handshake auth,
// token expiry, /ledger relays from the functions' Pub/Sub, /snapshots events emitted from
// another Redis connection (as a worker would) reaching clients on two API instances once each.
import { expect } from 'chai';
import { createServer, type Server as HttpServer } from 'node:http';
import jwt from 'jsonwebtoken';
import type { Socket } from 'socket.io-client';
import type { RedisClientType } from 'redis';
import { connect, connectSocket } from '../../testkit/clients.ts';
import { listenOnLoopback } from '../../testkit/http-server.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep, until } from '../../testkit/wait.ts';
import { createRealtime, type Realtime } from '../../src/realtime/server.ts';
import { createJwtVerifier } from '../../src/auth/jwt.ts';
import { newId, SnapshotNotFoundError } from '../../src/snapshots/store/metadata-store.ts';
import { createSnapshotEventEmitter } from '../../src/realtime/snapshot-events.ts';
import * as ledger from '../../src/ledger/functions.ts';
import { createLogger } from '../../src/logger.ts';

const secret = 'realtime-test-secret-that-is-long-enough-0123456789';
const jwtConfig = { secret, algorithms: ['HS256' as const] };
const sign = (sub: string, options: jwt.SignOptions = {}, roles: string[] = []) =>
  jwt.sign({ sub, roles }, secret, { algorithm: 'HS256', expiresIn: 60, ...options });

interface Instance { http: HttpServer; realtime: Realtime; url: string }

async function startInstance(pubsub: RedisClientType, snapshotIds: Set<string>): Promise<Instance> {
  const http = createServer();
  const realtime = await createRealtime({
    httpServer: http,
    pubsub,
    verifier: createJwtVerifier(jwtConfig),
    logger: createLogger('silent'),
    snapshots: {
      // Ids of the form ...-000000000001 play a store that says not-found by throwing; ...-000000000002 a store that is down.
      exists: async (id) => {
        if (id.endsWith('-000000000001')) throw new SnapshotNotFoundError(id);
        if (id.endsWith('-000000000002')) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        return snapshotIds.has(id);
      },
    },
    tokenExists: async (symbol) => (await pubsub.exists(`token:{${symbol}}`)) === 1,
    channelPrefix: 'tally-test-io',
  });
  return { http, realtime, url: await listenOnLoopback(http) };
}

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}

function rejection(socket: Socket): Promise<Error> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected without a valid token')));
    socket.once('connect_error', resolve);
  });
}

describe('realtime (Socket.IO)', function () {
  this.timeout(30_000);
  let pubsub: RedisClientType;
  let emitterClient: RedisClientType;
  let a: Instance;
  let b: Instance;
  const snapshotIds = new Set<string>();
  const sockets: Socket[] = [];
  const open = (url: string, nsp: string, auth: Record<string, unknown>) => {
    const socket = connectSocket(url, nsp, auth);
    sockets.push(socket);
    return socket;
  };

  before(async () => {
    [pubsub, emitterClient] = await Promise.all([connect(sharedRedisUrl()), connect(sharedRedisUrl())]);
    a = await startInstance(pubsub, snapshotIds);
    b = await startInstance(pubsub, snapshotIds);
  });
  afterEach(() => { for (const s of sockets.splice(0)) s.disconnect(); });
  after(async () => {
    for (const instance of [a, b]) {
      await instance?.realtime.close();
      instance?.http.close();
    }
    await pubsub?.close(); await emitterClient?.close();
  });

  describe('handshake', () => {
    it('rejects no token, a bad signature, alg none and an expired token with unauthorized', async () => {
      const none = jwt.sign({ sub: 'eve', roles: ['admin'] }, '', { algorithm: 'none' });
      const forged = jwt.sign({ sub: 'eve', roles: ['admin'] }, 'another-secret-of-sufficient-length-000000', { algorithm: 'HS256' });
      const expired = jwt.sign({ sub: 'eve', exp: Math.floor(Date.now() / 1000) - 10 }, secret, { algorithm: 'HS256' });
      for (const auth of [{}, { accessToken: 'garbage' }, { accessToken: none }, { accessToken: forged }, { token: expired }, { accessToken: 42 }]) {
        for (const nsp of ['/snapshots', '/ledger']) {
          const error = await rejection(open(a.url, nsp, auth));
          expect(error.message).to.equal('unauthorized');
        }
      }
    });

    it('accepts auth.accessToken and auth.token', async () => {
      await connected(open(a.url, '/snapshots', { accessToken: sign('alice') }));
      await connected(open(a.url, '/ledger', { token: sign('alice') }));
    });

    it('disconnects a socket when its token expires', async () => {
      const socket = open(a.url, '/snapshots', { accessToken: jwt.sign({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 1 }, secret, { algorithm: 'HS256' }) });
      await connected(socket);
      const reason = await new Promise<string>((resolve) => socket.once('disconnect', resolve));
      expect(reason).to.equal('io server disconnect');
    });
  });

  describe('/snapshots', () => {
    it('delivers a worker-emitted event once to clients on either instance, per ownership', async () => {
      const snapshotId = newId().id;
      snapshotIds.add(snapshotId);
      const owner = open(b.url, '/snapshots', { accessToken: sign('alice') });
      const other = open(a.url, '/snapshots', { accessToken: sign('bob') });
      const admin = open(a.url, '/snapshots', { accessToken: sign('root', {}, ['admin']) });
      const follower = open(b.url, '/snapshots', { accessToken: sign('carol') });
      await Promise.all([owner, other, admin, follower].map(connected));
      const ack = await follower.emitWithAck('subscribe', snapshotId);
      expect(ack).to.deep.equal({ ok: true });
      expect(await follower.emitWithAck('subscribe', newId().id)).to.have.nested.property('error.code', 'NOT_FOUND');
      expect(await follower.emitWithAck('subscribe', '../etc')).to.have.nested.property('error.code', 'INVALID_ARGUMENT');
      // Unknown is NOT_FOUND however the store says it; only a store that fails is UNAVAILABLE.
      const v7 = newId().id.slice(0, -12);
      expect(await follower.emitWithAck('subscribe', `${v7}000000000001`)).to.have.nested.property('error.code', 'NOT_FOUND');
      expect(await follower.emitWithAck('subscribe', `${v7}000000000002`)).to.have.nested.property('error.code', 'UNAVAILABLE');

      const received = new Map<Socket, unknown[]>([[owner, []], [other, []], [admin, []], [follower, []]]);
      for (const [socket, list] of received) socket.on('snapshots_events', (e: unknown) => list.push(e));
      const sink = createSnapshotEventEmitter(emitterClient, 'tally-test-io');
      const base = { jobId: 'job-1', jobName: 'snapshot', snapshotId };
      sink.emit({ type: 'snapshots_active', payload: { ...base, status: 'activated', progress: 0 } }, 'alice');
      for (const progress of [10, 50, 90]) sink.emit({ type: 'snapshots_progress', payload: { ...base, status: 'running', progress } }, 'alice');
      sink.emit({ type: 'snapshots_completed', payload: { ...base, status: 'completed', progress: 100, cid: 'bafy-test' } }, 'alice');
      await until(() => received.get(owner)!.length >= 5 && received.get(admin)!.length >= 5 && received.get(follower)!.length >= 5,
        { what: 'five events on each socket', timeoutMs: 5_000, stepMs: 10 });
      await sleep(200); // let any duplicate arrive
      for (const socket of [owner, admin, follower]) {
        const types = received.get(socket)!.map((e) => (e as { type: string }).type);
        expect(types).to.deep.equal(['snapshots_active', 'snapshots_progress', 'snapshots_progress', 'snapshots_progress', 'snapshots_completed']);
      }
      expect(received.get(other)).to.deep.equal([]);
      expect(received.get(owner)![4]).to.deep.equal({ type: 'snapshots_completed', payload: { ...base, status: 'completed', progress: 100, cid: 'bafy-test' } });
    });
  });

  describe('/ledger', () => {
    it('relays every one of 1,000 FCALL transfers to an admin subscriber, matching the stream', async () => {
      const redis = pubsub;
      const sym = uniqueSymbol('L');
      await ledger.init(redis, sym, { name: 'L', decimals: 0, totalSupply: '1000000', treasury: 't' });
      const admin = open(b.url, '/ledger', { accessToken: sign('root', {}, ['admin']) });
      const user = open(a.url, '/ledger', { accessToken: sign('u7') });
      await Promise.all([connected(admin), connected(user)]);
      expect(await admin.emitWithAck('subscribe', sym)).to.deep.equal({ ok: true });
      expect(await user.emitWithAck('subscribe', sym)).to.deep.equal({ ok: true });
      expect(await admin.emitWithAck('subscribe', 'NOPE-' + sym)).to.have.nested.property('error.code', 'TOKEN_NOT_FOUND');
      expect(await admin.emitWithAck('subscribe', 'bad sym')).to.have.nested.property('error.code', 'INVALID_TOKEN');
      const seen: Record<string, unknown>[] = [];
      const seenByUser: Record<string, unknown>[] = [];
      admin.on('transfer', (e) => seen.push(e));
      user.on('transfer', (e) => seenByUser.push(e));
      const burns: unknown[] = [];
      admin.on('burn', (e) => burns.push(e));

      await Promise.all(Array.from({ length: 1000 }, (_, i) =>
        redis.fCall('ledger_transfer', { keys: [`token:{${sym}}`], arguments: ['t', `u${i % 10}`, '1'] })));
      await ledger.burn(redis, sym, { account: 't', amount: '5' });
      await until(() => seen.length >= 1000 && burns.length >= 1, { what: '1,000 transfers and the burn', timeoutMs: 5_000, stepMs: 10 });
      const entries = (await redis.xRange(`token:{${sym}}:log`, '-', '+'))!.filter((e) => e.message.type === 'transfer');
      expect(seen).to.have.length(1000);
      expect(seen.map((e) => e.id)).to.deep.equal(entries.map((e) => e.id));
      for (let i = 0; i < entries.length; i++) {
        expect(seen[i]).to.include({ token: sym, from: entries[i]!.message.from, to: entries[i]!.message.to, amount: entries[i]!.message.amount });
      }
      expect(burns).to.have.length(1);
      // A plain user sees only the transfers that touch its own account.
      expect(seenByUser).to.have.length(100);
      expect(seenByUser.every((e) => e.to === 'u7')).to.equal(true);
    });
  });
});
