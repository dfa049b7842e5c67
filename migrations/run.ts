// `npm run migrate`: applies pending migrations to REDIS_URL or REDIS_CLUSTER_URLS.
import { migrate } from '../src/migrate/migrations.ts';
import { connectRedis } from '../src/redis.ts';

const clusterUrls = (process.env.REDIS_CLUSTER_URLS ?? '').split(',').map((u) => u.trim()).filter(Boolean);
const url = process.env.REDIS_URL;
if (!url && clusterUrls.length === 0) {
  console.error('migrate: set REDIS_URL (e.g. redis://127.0.0.1:6379) or REDIS_CLUSTER_URLS');
  process.exit(2);
}
const redis = await connectRedis({ url, clusterUrls });
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
