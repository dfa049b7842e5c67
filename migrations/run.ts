// `npm run migrate`: applies pending migrations to REDIS_URL or REDIS_CLUSTER_URLS (read by
// src/config.ts, like every variable, from the environment or a .env file).
import { ConfigError, loadConfig, readEnv } from '../src/config.ts';
import { migrate } from '../src/migrate/migrations.ts';
import { connectRedis } from '../src/connections.ts';

let target;
try {
  target = loadConfig(readEnv(), ['redis']).redis;
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`migrate: ${error.message}`);
  process.exit(2);
}
const redis = await connectRedis(target);
try {
  for (const result of await migrate(redis)) {
    console.log(`${result.applied ? 'applied' : 'already applied'}  ${result.id}`);
  }
} catch (error) {
  console.error(`migrate: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await redis.close();
}
