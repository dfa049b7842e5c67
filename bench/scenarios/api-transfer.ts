// POST /v1/tokens/:sym/transfers through the whole REST stack (JWT, zod, the ledger FCALL,
// metrics; rate limit off) beside a bare Express route on the same server setup, both served by
// one child process (bench/lib/rest-server-process.ts) and loaded by autocannon in this process:
// requests/s (target: at least 0.35 of the bare route's) and p99 latency. Each request is a
// transfer between two of 10,000 funded accounts, signed by a JWT of its `from` account, with a
// fresh Idempotency-Key (as a careful client sends); the same requests without one are measured
// too. The loads run in interleaved rounds, like the ledger scenarios.
import { createRequire } from 'node:module';
import jwt from 'jsonwebtoken';
import { processCpuSeconds, startChild, type BenchChild } from '../lib/child.ts';
import { benchSymbol } from '../lib/holders.ts';
import { percentile, sortSamples } from '../lib/percentiles.ts';
import { serverCounters, withRedis, type BenchRedis } from '../lib/redis-fixture.ts';
import { resultRow } from '../lib/results.ts';
import type { RestServerOptions, RestServerReady } from '../lib/rest-server-process.ts';
import { seedTransferWorkload, type Leg } from '../lib/transfers.ts';
import type { BenchContext, ResultRow, Scenario } from '../lib/types.ts';

/** What this file uses of autocannon (CommonJS, without type declarations). */
interface CannonRequest { method?: string; path?: string; headers?: Record<string, string>; body?: string }
interface CannonOptions {
  url: string;
  connections: number;
  pipelining: number;
  /** Seconds. */
  duration: number;
  requests: Array<CannonRequest & { setupRequest(request: CannonRequest): CannonRequest }>;
}
interface CannonInstance extends Promise<unknown> {
  on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => void): void;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (options: CannonOptions) => CannonInstance;

const connections = 16;
const jwtSecret = 'bench-secret-for-hs256-0123456789abcdef';
const jwtLifetimeS = 3600;
const serverStartTimeoutMs = 30_000;
const path = `/v1/tokens/${benchSymbol}/transfers`;
const scenario = `REST transfer, ${connections} connections`;

interface Target { label: string; url: string; idempotencyKey: boolean }

interface Totals {
  rates: number[];
  /** Milliseconds, every measured response of every round. */
  latencyMs: number[];
  cpuSeconds: { server: number; client: number; redis: number };
  elapsedS: number;
}

interface Measured {
  perSecond: number; p50: number; p99: number; samples: number; cpu: string;
  /** CPU time of the server process per answer. */
  serverCpuUs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Requests that take the next leg of the pool, signed as its `from` account. */
function requestSource(legs: Leg[]) {
  const bearer = new Map<string, string>();
  for (const { from } of legs) {
    if (!bearer.has(from)) bearer.set(from, `Bearer ${jwt.sign({ sub: from, roles: [] }, jwtSecret, { algorithm: 'HS256', expiresIn: jwtLifetimeS })}`);
  }
  let next = 0;
  const run = Date.now().toString(36);
  return (target: Target) => (request: CannonRequest): CannonRequest => {
    const leg = legs[next++ % legs.length]!;
    request.headers = {
      'content-type': 'application/json',
      authorization: bearer.get(leg.from)!,
      ...(target.idempotencyKey ? { 'idempotency-key': `bench-${run}-${next}` } : {}),
    };
    request.body = JSON.stringify({ to: leg.to, amount: leg.amount });
    return request;
  };
}

/** One autocannon run; every answer must be 201. */
async function cannon(url: string, durationMs: number, setupRequest: (r: CannonRequest) => CannonRequest) {
  const latencyMs: number[] = [];
  const statuses = new Map<number, number>();
  const instance = autocannon({ url, connections, pipelining: 1, duration: durationMs / 1000, requests: [{ method: 'POST', path, setupRequest }] });
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
    latencyMs.push(responseTimeMs);
  });
  const startMs = performance.now();
  await instance;
  const elapsedMs = performance.now() - startMs;
  const failed = [...statuses].filter(([status]) => status !== 201);
  if (failed.length > 0) throw new Error(`${url}${path} answered ${failed.map(([s, n]) => `${n} x ${s}`).join(', ')}`);
  return { perSecond: latencyMs.length / (elapsedMs / 1000), latencyMs, elapsedMs };
}

/** The targets in interleaved rounds (A B C, B C A, ...), each round warmed up. */
async function measureTargets(ctx: BenchContext, redis: BenchRedis, server: BenchChild<RestServerReady>, targets: Target[], legs: Leg[]): Promise<Totals[]> {
  const requests = requestSource(legs);
  const totals: Totals[] = targets.map(() => ({ rates: [], latencyMs: [], cpuSeconds: { server: 0, client: 0, redis: 0 }, elapsedS: 0 }));
  for (let round = 0; round < ctx.rounds; round++) {
    for (let k = 0; k < targets.length; k++) {
      const index = (k + round) % targets.length;
      const target = targets[index]!;
      await cannon(target.url, ctx.warmupMs, requests(target));
      const before = { server: processCpuSeconds(server.pid), client: process.cpuUsage(), redis: (await serverCounters(redis.admin)).cpuSeconds };
      const result = await cannon(target.url, ctx.measureMs / ctx.rounds, requests(target));
      const client = process.cpuUsage(before.client);
      const total = totals[index]!;
      total.rates.push(result.perSecond);
      for (const sample of result.latencyMs) total.latencyMs.push(sample);
      total.cpuSeconds.server += processCpuSeconds(server.pid) - before.server;
      total.cpuSeconds.client += (client.user + client.system) / 1e6;
      total.cpuSeconds.redis += (await serverCounters(redis.admin)).cpuSeconds - before.redis;
      total.elapsedS += result.elapsedMs / 1000;
    }
  }
  return totals;
}

function summarize(ctx: BenchContext, label: string, total: Totals): Measured {
  const latencyMs = sortSamples(total.latencyMs);
  const cpu = (seconds: number) => `${Math.round((seconds / total.elapsedS) * 100)}%`;
  const measured = {
    perSecond: median(total.rates), p50: percentile(latencyMs, 50), p99: percentile(latencyMs, 99), samples: latencyMs.length,
    serverCpuUs: (total.cpuSeconds.server / latencyMs.length) * 1e6,
    cpu: `server process ${cpu(total.cpuSeconds.server)}, autocannon ${cpu(total.cpuSeconds.client)}, redis-server ${cpu(total.cpuSeconds.redis)} of one core`,
  };
  ctx.log(`  ${label}: ${Math.round(measured.perSecond).toLocaleString('en-US')}/s (rounds: ${total.rates.map((r) => Math.round(r)).join(', ')}), ` +
    `p50 ${measured.p50.toFixed(2)} ms, p99 ${measured.p99.toFixed(2)} ms; ${measured.cpu}`);
  return measured;
}

async function run(ctx: BenchContext): Promise<ResultRow[]> {
  return withRedis(async (redis) => {
    const legs = await seedTransferWorkload(redis);
    const server = startChild<RestServerReady>(new URL('../lib/rest-server-process.ts', import.meta.url),
      { redisUrl: redis.server.url, jwtSecret } satisfies RestServerOptions);
    try {
      const { tallyUrl, bareUrl } = await server.next(serverStartTimeoutMs);
      const targets: Target[] = [
        { label: 'REST transfer', url: tallyUrl, idempotencyKey: true },
        { label: 'bare Express route', url: bareUrl, idempotencyKey: true },
        { label: 'REST transfer without Idempotency-Key', url: tallyUrl, idempotencyKey: false },
      ];
      const totals = await measureTargets(ctx, redis, server, targets, legs);
      const [rest, bare, restNoKey] = totals.map((total, i) => summarize(ctx, targets[i]!.label, total)) as [Measured, Measured, Measured];
      const common = { scenario, baseline: 'bare Express route', unit: '/s' };
      return [
        resultRow({ ...common, figure: 'requests/s', value: rest.perSecond, baselineValue: bare.perSecond, target: { op: '>=', ratio: 0.35 },
          note: `with Idempotency-Key; ${rest.cpu} (bare route: ${bare.cpu}); 2 cores shared by the three` }),
        resultRow({ ...common, figure: 'p99 latency', unit: 'ms', value: rest.p99, baselineValue: bare.p99,
          note: `${rest.samples.toLocaleString('en-US')} vs ${bare.samples.toLocaleString('en-US')} responses; p50 ${rest.p50.toFixed(2)} vs ${bare.p50.toFixed(2)} ms` }),
        resultRow({ ...common, figure: 'server CPU per request', unit: 'us', value: rest.serverCpuUs, baselineValue: bare.serverCpuUs,
          note: 'CPU time of the server process (/proc/<pid>/stat) over the measured windows divided by the answers: ' +
            'the cost per request, less sensitive than the rates to what else runs on the two cores' }),
        resultRow({ ...common, figure: 'requests/s without Idempotency-Key', value: restNoKey.perSecond, baselineValue: bare.perSecond,
          note: `p99 ${restNoKey.p99.toFixed(2)} ms; ${restNoKey.cpu}` }),
      ];
    } finally {
      await server.stop();
    }
  });
}

export const apiTransfer: Scenario = { name: 'api-transfer', run };
