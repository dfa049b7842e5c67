// GET /healthz: the process is alive (no dependency is touched), with the product version.
// GET /readyz: Redis answers PING (every master of a cluster) and the ledger library answers
// ledger_version, plus any check an extension adds (the snapshot store, IPFS); 503 otherwise,
// and 503 as soon as a graceful shutdown starts so load balancers stop sending traffic.
import { Router } from 'express';
import type { Ledger } from '../ledger/client.ts';
import { isCluster, type RedisConnection } from '../connections.ts';
import { libraryGaps } from '../ledger/library.ts';
import { withTimeout } from '../time.ts';
import { tallyVersion } from '../version.ts';

const checkTimeoutMs = 2_000;

/** Resolves (to a short detail) when ready; throws when not. */
export type ReadinessCheck = () => Promise<string | void>;

export interface HealthDeps {
  redis: RedisConnection;
  ledger: Ledger;
  readinessChecks?: Record<string, ReadinessCheck>;
  /** True once shutdown began. */
  isShuttingDown?: () => boolean;
}

async function pingRedis(redis: RedisConnection): Promise<string> {
  if (!isCluster(redis)) return String(await redis.ping());
  for (const master of redis.masters) await (await redis.nodeClient(master)).ping();
  return `PONG from ${redis.masters.length} masters`;
}

/**
 * Every master must hold the ledger library (a master added later has none until `npm run
 * migrate`): not ready while one lacks it, naming it; another version is ready, with a detail.
 */
async function checkLibrary(deps: HealthDeps): Promise<string> {
  const { missing, outdated } = await libraryGaps(deps.redis);
  if (missing.length > 0) throw new Error(`the ledger library is not loaded on ${missing.join(', ')}: run npm run migrate`);
  const version = await deps.ledger.version();
  if (outdated.length > 0) return `ledger library ${version}; another version on ${outdated.join(', ')}: run npm run migrate`;
  return `ledger library ${version}`;
}

export function createHealthRouter(deps: HealthDeps): Router {
  const router = Router();
  const checks: Record<string, ReadinessCheck> = {
    redis: () => pingRedis(deps.redis),
    ledger: () => checkLibrary(deps),
    ...deps.readinessChecks,
  };

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', version: tallyVersion });
  });

  router.get('/readyz', async (_req, res) => {
    if (deps.isShuttingDown?.()) {
      res.status(503).json({ status: 'unavailable', checks: {}, error: { code: 'UNAVAILABLE', message: 'shutting down' } });
      return;
    }
    const names = Object.keys(checks);
    const results = await Promise.allSettled(names.map((name) => withTimeout(checks[name]!(), checkTimeoutMs, 'the check')));
    const report: Record<string, { ok: boolean; detail: string }> = {};
    results.forEach((result, i) => {
      report[names[i]!] = result.status === 'fulfilled'
        ? { ok: true, detail: result.value ? String(result.value) : 'ok' }
        : { ok: false, detail: result.reason instanceof Error ? result.reason.message : String(result.reason) };
    });
    const failed = names.filter((name) => !report[name]!.ok);
    if (failed.length === 0) {
      res.json({ status: 'ready', checks: report });
      return;
    }
    res.status(503).json({ status: 'unavailable', checks: report, error: { code: 'UNAVAILABLE', message: `not ready: ${failed.join(', ')}` } });
  });

  return router;
}
