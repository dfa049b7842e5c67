// The REST server (a real `node src/main.ts`, RATE_LIMIT_PER_MINUTE=600) under a burst far
// above its rate limit: 10 times the per-minute limit within seconds from one user (transfers)
// and as much again without a token, 200 requests in flight at a time, in two halves. Excess
// requests get 429 RATE_LIMITED with Retry-After; apart from the allowance (201 for the user,
// 401 for the tokenless client) nothing else comes back; /healthz and another user's requests
// answer during the burst; resident memory stays bounded: V8 grows its heap during the first
// half, and the second half, as large, must not grow it much further.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis } from '../../src/connections.ts';
import { callerOpId } from '../../src/http/idempotency.ts';
import { tokenKeys } from '../../src/ledger/keys.ts';
import { call, mint, testSecret } from '../http/support.ts';
import { spawnTally, type TallyProcess } from '../../testkit/processes.ts';
import { freePort } from '../../testkit/free-port.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { sleep, until } from '../../testkit/wait.ts';
import { quick, report } from './support.ts';

const limitPerMinute = 600;
const inFlight = 200;
const mib = 2 ** 20;
/** Generous: V8 grows its heap under load (about 250 MiB here) before it collects. */
const rssGrowthMaxBytes = 512 * mib;
/** What the second half of the burst may add to the first half's peak. */
const rssSecondHalfGrowthMaxBytes = 128 * mib;
const healthLatencyMaxMs = 2_000;
const requestTimeoutMs = 30_000;
const healthLatencyP50MaxMs = 500;

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

describe('faults: a burst far above the rate limit', function () {
  this.timeout(180_000);
  let api: TallyProcess;
  let url: string;
  let dataDir: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tally-overload-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    api = spawnTally({
      REDIS_URL: sharedRedisUrl(), JWT_SECRET: testSecret, HOST: '127.0.0.1', PORT: String(port), ROLES: 'api',
      RATE_LIMIT_PER_MINUTE: String(limitPerMinute), DATA_DIR: dataDir, LOG_LEVEL: 'warn',
      TALLY_NAMESPACE: `overload${uniqueSymbol().toLowerCase()}`,
    });
    // LOG_LEVEL=warn (no line per request): wait for /healthz instead of the startup line.
    await until(async () => (await call(url, 'GET', '/healthz').catch(() => ({ status: 0 }))).status === 200, { what: 'the API to listen', timeoutMs: 30_000 });
  });
  after(async () => {
    await api?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 429 past the limit, stays responsive, keeps its memory bounded, and loses nothing it accepted', async () => {
    const burstPerCaller = (quick ? 5 : 10) * limitPerMinute;
    const suffix = uniqueSymbol('').toLowerCase();
    const attacker = mint(`attacker-${suffix}`, { expiresInSeconds: 600 });
    const other = mint(`other-${suffix}`, { expiresInSeconds: 600 });
    const admin = mint(`ops-${suffix}`, { admin: true, expiresInSeconds: 600 });
    const symbol = uniqueSymbol('OV');
    const created = await call(url, 'POST', '/v1/tokens', { token: admin, body: { symbol, name: 'Overload', decimals: 0, totalSupply: '1000000000', treasury: `attacker-${suffix}` } });
    expect(created.status, created.text).to.equal(201);

    // Warm up (JIT, pools), then measure the baseline.
    for (let i = 0; i < 200; i++) await call(url, 'GET', '/healthz');
    const pid = api.child.pid!;
    const rssBefore = rssBytes(pid);
    let rssPeak = rssBefore;

    const statuses = new Map<number, number>();
    const acceptedOps: string[] = [];
    let missingRetryAfter = 0;
    let wrongBody = 0;
    let next = 0;
    const total = burstPerCaller * 2;
    const send = async (i: number) => {
      const anonymous = i % 2 === 1;
      const opId = `burst-${suffix}-${i}`;
      const signal = AbortSignal.timeout(requestTimeoutMs);
      const response = anonymous
        ? await fetch(`${url}/v1/tokens/${symbol}`, { signal })
        : await fetch(`${url}/v1/tokens/${symbol}/transfers`, {
          method: 'POST', signal,
          headers: { authorization: `Bearer ${attacker}`, 'content-type': 'application/json', 'idempotency-key': opId },
          body: JSON.stringify({ to: 'sink', amount: '1' }),
        });
      const text = await response.text();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status === 429) {
        if (!response.headers.get('retry-after')) missingRetryAfter += 1;
        if (!text.includes('"RATE_LIMITED"')) wrongBody += 1;
      }
      if (response.status === 201) acceptedOps.push(callerOpId({ account: `attacker-${suffix}`, admin: false }, opId)!);
    };
    // During the burst: health checks, another user's reads, and memory samples.
    const healthMs: number[] = [];
    const otherStatuses: number[] = [];
    const half = async (until: number) => {
      let bursting = true;
      const burst = Promise.all(Array.from({ length: inFlight }, async () => {
        while (next < until) await send(next++);
      })).finally(() => { bursting = false; });
      while (bursting) {
        const t0 = performance.now();
        const health = await call(url, 'GET', '/healthz');
        healthMs.push(performance.now() - t0);
        expect(health.status).to.equal(200);
        otherStatuses.push((await call(url, 'GET', `/v1/tokens/${symbol}/balances/other-${suffix}`, { token: other })).status);
        rssPeak = Math.max(rssPeak, rssBytes(pid));
        await sleep(50);
      }
      await burst;
    };
    const burstStartedMs = Date.now();
    await half(total / 2);
    const rssFirstHalfPeak = rssPeak;
    await half(total);
    const burstMs = Date.now() - burstStartedMs;
    await sleep(500);
    const rssAfter = rssBytes(pid);

    // Everything accepted is in the log, exactly once.
    const redis = await connectRedis({ url: sharedRedisUrl() });
    const logged = new Map<string, number>();
    try {
      for (const { message } of await redis.xRange(tokenKeys(symbol).log, '-', '+') ?? []) {
        const opId = (message as Record<string, string>).opId;
        if (opId) logged.set(opId, (logged.get(opId) ?? 0) + 1);
      }
    } finally {
      redis.destroy();
    }
    const found = acceptedOps.filter((op) => logged.get(op) === 1).length;
    const sorted = [...healthMs].sort((a, b) => a - b);
    report('REST burst over the rate limit', {
      attempted: total, acknowledged: acceptedOps.length, found, lost: acceptedOps.length - found,
      created201: statuses.get(201) ?? 0, unauthenticated401: statuses.get(401) ?? 0, limited429: statuses.get(429) ?? 0,
      requestsPerSecond: Math.round(total / (burstMs / 1000)),
      healthChecks: healthMs.length, healthP50Ms: Math.round(sorted[Math.floor(sorted.length / 2)]!), healthMaxMs: Math.round(sorted.at(-1)!),
      rssBeforeMiB: Math.round(rssBefore / mib), rssFirstHalfPeakMiB: Math.round(rssFirstHalfPeak / mib), rssPeakMiB: Math.round(rssPeak / mib), rssAfterMiB: Math.round(rssAfter / mib),
    });

    expect([...statuses.keys()].sort(), 'only 201, 401 and 429').to.deep.equal([201, 401, 429]);
    expect(statuses.get(201), 'the user got exactly its per-minute allowance').to.equal(limitPerMinute);
    expect(statuses.get(401), 'so did the tokenless client (per IP), then 429 instead of 401').to.equal(limitPerMinute);
    expect(statuses.get(429)).to.equal(total - 2 * limitPerMinute);
    expect(missingRetryAfter, '429s without Retry-After').to.equal(0);
    expect(wrongBody, '429s without the RATE_LIMITED body').to.equal(0);
    expect(found).to.equal(acceptedOps.length);
    expect(logged.size, 'nothing refused was applied').to.equal(acceptedOps.length);
    expect(healthMs.length, 'health checks ran during the burst').to.be.greaterThan(3);
    expect(sorted.at(-1)!, 'the slowest health check during the burst (ms)').to.be.below(healthLatencyMaxMs);
    expect(sorted[Math.floor(sorted.length / 2)]!, 'the median health check during the burst (ms)').to.be.below(healthLatencyP50MaxMs);
    expect(otherStatuses.every((s) => s === 200), `another user's requests during the burst: ${otherStatuses.join(',')}`).to.equal(true);
    expect(rssPeak - rssBefore, 'RSS growth during the burst').to.be.below(rssGrowthMaxBytes);
    expect(rssPeak - rssFirstHalfPeak, 'RSS growth in the second half of the burst').to.be.below(rssSecondHalfGrowthMaxBytes);
  });
});
