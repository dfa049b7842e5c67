// start(config) in-process: what tests and the snapshot side reuse. Extensions get the server
// and are stopped; idle keep-alive connections do not hold the stop up.
import { expect } from 'chai';
import { Router } from 'express';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { start, type RuntimeExtension } from '../../src/main.ts';
import { sharedRedisUrl } from '../../testkit/shared-redis.ts';
import { mint, testSecret } from './support.ts';

describe('start() and stop()', () => {
  it('serves, runs extension hooks, and stops promptly with idle keep-alive connections open', async () => {
    const config = loadConfig({ REDIS_URL: sharedRedisUrl(), JWT_SECRET: testSecret, PORT: '0', HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0', SHUTDOWN_TIMEOUT_MS: '5000' });
    const events: string[] = [];
    const router = Router();
    router.get('/ping', (_req, res) => { res.json({ pong: true }); });
    const started = await start(config, {
      logger: createLogger('silent'),
      extensions: [async (context) => {
        expect(context.config).to.equal(config);
        const extension: RuntimeExtension = {
          name: 'probe',
          router,
          attach: (server) => { events.push(`attach:${server.listening}`); },
          stop: async () => { events.push('stop'); },
        };
        return extension;
      }],
    });
    expect(started.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    // fetch keeps these connections alive (idle) after the answers.
    const replies = await Promise.all(Array.from({ length: 5 }, () => fetch(`${started.url}/v1/ping`, { headers: { authorization: `Bearer ${mint('alice')}` } })));
    for (const reply of replies) expect(await reply.json()).to.deep.equal({ pong: true });
    const t0 = Date.now();
    expect(await started.stop()).to.deep.equal({ forced: false });
    expect(Date.now() - t0).to.be.below(2_000);
    expect(await started.stop()).to.deep.equal({ forced: false }); // idempotent
    expect(events).to.deep.equal(['attach:true', 'stop']);
    expect(started.server!.listening).to.equal(false);
    expect(started.redis.isOpen).to.equal(false);
  });
});
