// A child process serving the REST API the way src/main.ts builds it (createApp over a Redis
// connection and the ledger, node:http createServer), and beside it, on another port of the same
// process, a bare Express route: same Express, same Node, no auth, no ledger, no middleware,
// answering 201 with a reply of the transfer's shape. Sends {tallyUrl, bareUrl} once both listen.
import { createServer } from 'node:http';
import express from 'express';
import { childOptions, exitWithParent, sendToParent } from './child.ts';
import { createApp } from '../../src/app.ts';
import { createJwtVerifier } from '../../src/auth/jwt.ts';
import { loadConfig } from '../../src/config.ts';
import { createLedger } from '../../src/ledger/client.ts';
import { createLogger } from '../../src/logger.ts';
import { connectRedis } from '../../src/connections.ts';
import { closeServer, listenOnLoopback } from '../../testkit/http-server.ts';

export interface RestServerOptions {
  redisUrl: string;
  jwtSecret: string;
}

export interface RestServerReady {
  tallyUrl: string;
  bareUrl: string;
}

function bareApp(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.post('/v1/tokens/:sym/transfers', (_req, res) => {
    res.status(201).json({ eventId: '1795372063451-0', fromBalance: '998500000', toBalance: '1500000' });
  });
  return app;
}

async function main(): Promise<void> {
  const options = childOptions<RestServerOptions>();
  // Request logs off (the tests' setting): at LOG_LEVEL=info each request writes a JSON line.
  const config = loadConfig({ REDIS_URL: options.redisUrl, JWT_SECRET: options.jwtSecret, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'silent' });
  const redis = await connectRedis(config.redis);
  const logger = createLogger(config.logLevel);
  const tally = createServer(createApp({ ledger: createLedger(redis), redis, config, logger, verifier: createJwtVerifier(config.jwt) }));
  const bare = createServer(bareApp());
  const ready: RestServerReady = { tallyUrl: await listenOnLoopback(tally), bareUrl: await listenOnLoopback(bare) };
  exitWithParent(async () => {
    await Promise.all([closeServer(tally), closeServer(bare)]);
    redis.destroy();
  });
  sendToParent(ready);
}

await main();
