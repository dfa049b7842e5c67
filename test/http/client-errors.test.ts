// Requests Node's parser refuses still get a JSON body with a catalog code: headers over 16 KB
// (a huge JWT) are 431 HEADERS_TOO_LARGE, through the test app and through lifecycle's listen().
import { expect } from 'chai';
import { createApp } from '../../src/app.ts';
import { createJwtVerifier } from '../../src/auth/jwt.ts';
import { listen } from '../../src/lifecycle.ts';
import { createLogger } from '../../src/logger.ts';
import { mint, rawCall, startApp, testSecret, type TestApp } from './support.ts';

describe('HTTP client errors', () => {
  let app: TestApp;
  before(async () => { app = await startApp(); });
  after(async () => { await app.close(); });

  const hugeToken = () => mint('alice', { claims: { pad: 'x'.repeat(20 * 1024) } });

  it('a JWT over 16 KB is 431 HEADERS_TOO_LARGE with a JSON body', async () => {
    const reply = await rawCall(app.url, 'GET', '/v1/tokens', { authorization: `Bearer ${hugeToken()}` });
    expect(reply.status).to.equal(431);
    expect(reply.headers.get('content-type')).to.match(/^application\/json/);
    expect(reply.body.error.code).to.equal('HEADERS_TOO_LARGE');
    expect(reply.body.error.message).to.be.a('string');
  });

  it('the server main.ts listens with answers the same', async () => {
    const handler = createApp({ ledger: app.ledger, redis: app.redis, config: app.config, logger: createLogger('silent'), verifier: createJwtVerifier({ secret: testSecret, algorithms: ['HS256'] } as never) });
    const served = await listen(handler, 0, '127.0.0.1', createLogger('silent'));
    try {
      const reply = await rawCall(served.url, 'GET', '/healthz', { 'x-pad': 'y'.repeat(17 * 1024) });
      expect(reply.status).to.equal(431);
      expect(reply.body).to.have.nested.property('error.code', 'HEADERS_TOO_LARGE');
    } finally {
      await served.drain(1_000);
    }
  });
});
