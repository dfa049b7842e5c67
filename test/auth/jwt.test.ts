// The one JWT verifier (src/auth/jwt.ts) that REST and both Socket.IO namespaces use: the
// rules it enforces, its JWKS cache, and the same outage answer on both interfaces (REST's 503
// is in test/http/security.test.ts; the Socket.IO handshake's is here, over real sockets).
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { createClient, type RedisClientType } from 'redis';
import { io as connectClient } from 'socket.io-client';
import { createJwtVerifier, InvalidTokenError, SigningKeysUnavailableError } from '../../src/auth/jwt.ts';
import { createLogger } from '../../src/logger.ts';
import { createRealtime } from '../../src/realtime/server.ts';
import { sharedRedisUrl } from '../../testkit/shared-redis.ts';
import { startJwksServer, type JwksServer } from '../../testkit/jwks-server.ts';
import { rejectionOf } from '../../testkit/wait.ts';

const secret = 'verifier-test-secret-that-is-long-enough-0123456789';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('the JWT verifier', () => {
  describe('with an HS256 secret, issuer and audience', () => {
    const verifier = createJwtVerifier({ secret, algorithms: ['HS256'], issuer: 'tally-test', audience: ['api'] });
    const sign = (claims: object, options: jwt.SignOptions = {}) =>
      jwt.sign(claims, secret, { algorithm: 'HS256', expiresIn: 60, issuer: 'tally-test', audience: 'api', ...options });

    it('returns the caller, the admin role and the expiry of a valid token', async () => {
      const verified = await verifier.verify(sign({ sub: 'alice', roles: ['admin'] }));
      expect(verified.caller).to.deep.equal({ account: 'alice', admin: true });
      expect(verified.expiresAtMs).to.be.within(Date.now() + 50_000, Date.now() + 61_000);
      expect((await verifier.verify(sign({ sub: 'bob', roles: 'reader admin' }))).caller.admin).to.equal(true);
      expect((await verifier.verify(sign({ sub: 'bob' }))).caller.admin).to.equal(false);
    });

    it('refuses a missing, expired, unsigned, foreign-issuer or foreign-audience token, and one without sub', async () => {
      const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'alice', iss: 'tally-test', aud: 'api' })).toString('base64url')}.`;
      const cases: [unknown, string][] = [
        [undefined, 'a bearer token is required'],
        ['x'.repeat(9_000), 'the token is invalid'],
        [sign({ sub: 'alice' }, { expiresIn: -10 }), 'the token has expired'],
        [unsigned, 'the token is invalid'],
        [sign({ sub: 'alice' }, { issuer: 'someone-else' }), 'the token is invalid'],
        [sign({ sub: 'alice' }, { audience: 'other' }), 'the token is invalid'],
        [jwt.sign({ sub: 'alice' }, 'another-secret-that-is-long-enough-0123456789', { algorithm: 'HS256', issuer: 'tally-test', audience: 'api' }), 'the token is invalid'],
        [sign({ roles: ['admin'] }), 'the token has no usable sub claim'],
      ];
      for (const [token, message] of cases) {
        const error = await rejectionOf(verifier.verify(token));
        expect(error, message).to.be.instanceOf(InvalidTokenError);
        expect(error.message).to.equal(message);
      }
    });
  });

  describe('with a JWKS URL', () => {
    let jwks: JwksServer;
    before(async () => { jwks = await startJwksServer(rsa.publicKey, 'k1'); });
    after(() => jwks.close());
    const signRs = (kid: string) => jwt.sign({ sub: 'alice' }, rsa.privateKey, { algorithm: 'RS256', keyid: kid, expiresIn: 60 });

    it('fetches the keys once for many tokens, and refuses an unknown kid as an invalid token', async () => {
      const verifier = createJwtVerifier({ jwksUrl: jwks.url, algorithms: ['RS256'] });
      const before = jwks.requests();
      expect((await verifier.verify(signRs('k1'))).caller.account).to.equal('alice');
      expect((await verifier.verify(signRs('k1'))).caller.account).to.equal('alice');
      expect(jwks.requests() - before).to.equal(1);
      expect(await rejectionOf(verifier.verify(signRs('nope')))).to.be.instanceOf(InvalidTokenError);
    });

    it('reports an unreachable JWKS endpoint as unavailable keys, not as a bad token', async () => {
      const verifier = createJwtVerifier({ jwksUrl: 'http://127.0.0.1:9/jwks.json', algorithms: ['RS256'] });
      const error = await rejectionOf(verifier.verify(signRs('k1')));
      expect(error).to.be.instanceOf(SigningKeysUnavailableError);
      expect((error as SigningKeysUnavailableError).code).to.equal('UNAVAILABLE');
    });

    it('ends a Socket.IO handshake with connect_error "unavailable" (code UNAVAILABLE) while the JWKS endpoint is down', async () => {
      const pubsub: RedisClientType = createClient({ url: sharedRedisUrl() });
      await pubsub.connect();
      const httpServer = createServer();
      const realtime = await createRealtime({
        httpServer, pubsub, logger: createLogger('silent'), channelPrefix: 'verifier-test-io',
        verifier: createJwtVerifier({ jwksUrl: 'http://127.0.0.1:9/jwks.json', algorithms: ['RS256'] }),
        tokenExists: async () => false,
      });
      httpServer.listen(0, '127.0.0.1');
      await once(httpServer, 'listening');
      const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
      try {
        for (const nsp of ['/snapshots', '/ledger']) {
          const socket = connectClient(`${url}${nsp}`, { auth: { accessToken: signRs('k1') }, transports: ['websocket'], reconnection: false, forceNew: true });
          const error = await new Promise<Error & { data?: { code?: string } }>((resolve) => socket.once('connect_error', resolve));
          socket.close();
          expect(error.message, nsp).to.equal('unavailable');
          expect(error.data?.code, nsp).to.equal('UNAVAILABLE');
        }
      } finally {
        await realtime.close();
        httpServer.closeAllConnections();
        await new Promise((resolve) => httpServer.close(resolve));
        await pubsub.close();
      }
    });
  });
});
