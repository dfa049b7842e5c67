// The scheduler on real Redis (the shared test server): jobs, retries with backoff, recurring
// jobs, the duplicate-free schedule() across processes, roles, readiness and a bounded stop.
// Every test uses its own Agenda key prefix and channel, so tests never see each other's jobs.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { InvalidScheduleError, SchedulerUnavailableError } from '../../../src/snapshots/jobs/errors.ts';
import {
  createScheduler, retryBackoff, type Scheduler,
} from '../../../src/snapshots/jobs/scheduler.ts';
import type { RetryExhaustedEvent, SchedulerOptions } from '../../../src/snapshots/jobs/types.ts';
import { connect } from '../../../testkit/clients.ts';
import { freePort } from '../../../testkit/free-port.ts';
import { type RedisClusterHandle, startCluster } from '../../../testkit/redis-server.ts';
import { sharedRedisUrl } from '../../../testkit/shared-redis.ts';
import { startProcess } from '../../../testkit/processes.ts';
import { sleep, until } from '../../../testkit/wait.ts';
import { withTimeout } from '../../../src/time.ts';

const schedulerModule = new URL('../../../src/snapshots/jobs/scheduler.ts', import.meta.url).href;
interface ChildResult { code: number | null; stdout: string; stderr: string; exitedAt: number }

interface Child {
  /** Resolves when the child prints a line `ready`. */
  ready: Promise<void>;
  /** Writes a line to the child's stdin. */
  send(line: string): void;
  result: Promise<ChildResult>;
}

const childTimeoutMs = 20_000;

/** Runs ESM code in a fresh Node process (same binary, type stripping on) with extra env. */
function startChild(code: string, env: Record<string, string>): Child {
  const proc = startProcess({ args: ['--input-type=module', '-e', code], env: { ...process.env, ...env }, stdin: 'pipe', stopBy: 'stdin' });
  // Also settles when the child exits first: the result then tells what happened.
  const ready = proc.waitFor(/^ready$/m, childTimeoutMs).then(() => {}, () => {});
  const result = withTimeout(proc.exited, childTimeoutMs, () => new Error(`child timed out\n${proc.stderr()}`))
    .then(({ code: exitCode }) => ({ code: exitCode, stdout: proc.stdout().replace(/^ready\n/m, ''), stderr: proc.stderr(), exitedAt: Date.now() }))
    .catch(async (error: Error) => { await proc.kill9(); throw error; });
  return { ready, send: (line) => proc.send(line), result };
}

const runChild = (code: string, env: Record<string, string>) => {
  const child = startChild(code, env);
  child.send('');
  return child.result;
};

describe('snapshot scheduler', function () {
  this.timeout(20_000);
  let prefix: string;
  let channel: string;
  let errors: string[];
  const made: Scheduler[] = [];

  beforeEach(() => {
    const tag = randomBytes(4).toString('hex');
    prefix = `{tally:agenda-${tag}}:`;
    channel = `tally:agenda:test-${tag}`;
    errors = [];
  });
  afterEach(async () => {
    await Promise.all(made.splice(0).map((s) => s.stop({ drainTimeoutMs: 500 })));
  });

  const options = (overrides: Partial<SchedulerOptions> = {}): SchedulerOptions => ({
    redisUrl: sharedRedisUrl(), keyPrefix: prefix, channelName: channel, lockLifetimeMs: 2_000, readyTimeoutMs: 3_000,
    processEveryMs: 100, minIntervalMs: 1_000, roles: { worker: true },
    onError: (error, context) => { errors.push(`${context}: ${error.message}`); },
    ...overrides,
  });
  async function make(overrides: Partial<SchedulerOptions> = {}): Promise<Scheduler> {
    const scheduler = await createScheduler(options(overrides));
    made.push(scheduler);
    return scheduler;
  }
  async function jobExists(jobId: string): Promise<boolean> {
    const redis = await connect(sharedRedisUrl());
    try {
      return (await redis.exists(`${prefix}job:${jobId}`)) === 1;
    } finally {
      redis.destroy();
    }
  }
  /** The progress the Redis backend stores with a job (`null` when none). */
  async function storedProgress(jobId: string): Promise<string | null> {
    const redis = await connect(sharedRedisUrl());
    try {
      return await redis.hGet(`${prefix}job:${jobId}`, 'progress') ?? null;
    } finally {
      redis.destroy();
    }
  }

  it('runs a job once with its data and attempt numbers, stores its progress (kept by a keep-alive), then removes it', async () => {
    const worker = await make();
    const seen: unknown[] = [];
    const stored: (string | null)[] = [];
    let finished = false;
    worker.define('snapshot-test', async (ctx) => {
      seen.push({ data: ctx.data, attempt: ctx.attempt, attempts: ctx.attempts });
      await ctx.progress(25);
      await ctx.keepAlive();
      stored.push(await storedProgress(ctx.jobId));
      await ctx.progress(80);
      stored.push(await storedProgress(ctx.jobId));
      finished = true;
    });
    await worker.start();
    const jobId = await worker.enqueue('snapshot-test', { snapshotId: 'abc' });
    await until(() => finished, { what: 'the job to finish', timeoutMs: 5_000, stepMs: 20 });
    await until(async () => !(await jobExists(jobId)), { what: 'the finished job to be removed', timeoutMs: 2_000, stepMs: 20 });
    expect(seen).to.deep.equal([{ data: { snapshotId: 'abc' }, attempt: 1, attempts: 3 }]);
    expect(stored).to.deep.equal(['25', '80']);
    await worker.ping();
    expect(errors).to.deep.equal([]);
  });

  it('retry delays double from backoffMs with ±20 % jitter, are capped at 10 min, and stop after attempts - 1 retries', () => {
    const context = (attempt: number) => ({ attempt, error: new Error('down'), jobName: 'snapshot', jobData: {} });
    const backoff = retryBackoff(3, 200);
    for (let i = 0; i < 100; i++) {
      expect(backoff(context(1))).to.be.within(160, 240);
      expect(backoff(context(2))).to.be.within(320, 480);
    }
    expect(backoff(context(3))).to.equal(null);
    expect(retryBackoff(20, 300_000)(context(5))).to.be.within(480_000, 720_000);
  });

  it('retries a failing job after the backoff, then reports it exhausted once and removes it', async () => {
    const worker = await make();
    const runs: { attempt: number; attempts: number; at: number }[] = [];
    const exhausted: RetryExhaustedEvent[] = [];
    worker.onRetryExhausted((e) => { exhausted.push(e); });
    worker.define('snapshot-fails', async (ctx) => {
      runs.push({ attempt: ctx.attempt, attempts: ctx.attempts, at: Date.now() });
      throw new Error(`mirror node down (run ${ctx.attempt})`);
    }, { attempts: 3, backoffMs: 200 });
    await worker.start();
    const jobId = await worker.enqueue('snapshot-fails', { snapshotId: 'x' });
    await until(() => exhausted.length === 1, { what: 'retries to be exhausted', timeoutMs: 8_000, stepMs: 20 });
    await sleep(300);
    expect(runs.map((r) => [r.attempt, r.attempts])).to.deep.equal([[1, 3], [2, 3], [3, 3]]);
    // The retries waited at least their shortest possible delay: 200 ms, then 400 ms, less 20 % jitter.
    expect(runs[1]!.at - runs[0]!.at).to.be.at.least(160 - 20);
    expect(runs[2]!.at - runs[1]!.at).to.be.at.least(320 - 20);
    expect(exhausted).to.have.length(1);
    expect(exhausted[0]).to.include({ jobId, jobName: 'snapshot-fails', attempt: 3, attempts: 3 });
    expect(exhausted[0]!.error.message).to.equal('mirror node down (run 3)');
    expect(runs).to.have.length(3);
    expect(await jobExists(jobId)).to.equal(false);
  });

  it('fires a recurring job on time, and unschedule stops it', async () => {
    const worker = await make();
    const runs: number[] = [];
    const data: unknown[] = [];
    worker.define('snapshot-schedule', async (ctx) => { runs.push(Date.now()); data.push(ctx.data); });
    await worker.start();
    const scheduleId = '0190f0b6-6c5e-7a3e-9a0b-1c2d3e4f5a6b';
    const result = await worker.schedule(scheduleId, '1 second', { tokenId: '0.0.5' });
    expect(result.created).to.equal(true);
    await until(() => runs.length >= 4, { what: 'four runs', timeoutMs: 8_000, stepMs: 20 });
    const gaps = runs.slice(1).map((t, i) => t - runs[i]!);
    for (const gap of gaps) expect(gap).to.be.within(800, 1_600);
    expect(data[0]).to.deep.equal({ tokenId: '0.0.5', scheduleId });
    expect(await worker.findSchedule(scheduleId)).to.have.length(1);
    expect(await worker.unschedule(scheduleId)).to.equal(true);
    expect(await worker.unschedule(scheduleId)).to.equal(false);
    expect(await worker.findSchedule(scheduleId)).to.deep.equal([]);
    const count = runs.length;
    await sleep(1_500);
    expect(runs.length).to.be.at.most(count + 1); // at most a run that was already under way
  });

  it('re-scheduling the same id keeps one job, replacing it only when something changed, and heals duplicates', async () => {
    const api = await make({ roles: { worker: false } });
    const id = 'sched-replace';
    const first = await api.schedule(id, '1 hour', { tokenId: '0.0.7' }, { skipImmediate: true });
    const same = await api.schedule(id, '1 hour', { tokenId: '0.0.7' }, { skipImmediate: true });
    expect(same).to.deep.include({ jobId: first.jobId, created: false });
    const changed = await api.schedule(id, '2 hours', { tokenId: '0.0.7' }, { skipImmediate: true });
    expect(changed.jobId).to.not.equal(first.jobId);
    const stored = await api.findSchedule(id);
    expect(stored.map((s) => s.every)).to.deep.equal(['2 hours']);
    expect(stored[0]!.nextRunAt!.getTime() - Date.now()).to.be.within(7_100_000, 7_200_000);
    // Duplicates left by an unguarded writer (here: plain jobs of the same name and scheduleId) are healed.
    await api.enqueue('snapshot-schedule', { scheduleId: 'sched-heal' });
    await api.enqueue('snapshot-schedule', { scheduleId: 'sched-heal' });
    expect(await api.findSchedule('sched-heal')).to.have.length(2);
    await api.schedule('sched-heal', '1 hour', {}, { skipImmediate: true });
    expect((await api.findSchedule('sched-heal')).map((j) => j.every)).to.deep.equal(['1 hour']);
  });

  it('registers a schedule once when two schedulers in one process race', async () => {
    const a = await make({ roles: { worker: false } });
    const b = await make({ roles: { worker: false } });
    expect(a.processName).to.not.equal(b.processName);
    const ids = Array.from({ length: 15 }, (_, i) => `race-${i}`);
    const results = await Promise.all(ids.flatMap((id) => [a, b, a, b].map((s) => s.schedule(id, '1 hour', { tokenId: '0.0.9' }, { skipImmediate: true }))));
    for (const id of ids) expect(await a.findSchedule(id), id).to.have.length(1);
    expect(results.filter((r) => r.created)).to.have.length(ids.length);
  });

  it('registers a schedule once when three processes race', async function () {
    this.timeout(30_000);
    const ids = Array.from({ length: 20 }, (_, i) => `proc-race-${i}`);
    // Each child connects, says `ready`, and waits for one line on stdin: all start together.
    const code = `
      const { createScheduler } = await import(process.env.SCHEDULER_MODULE);
      const s = await createScheduler({
        redisUrl: process.env.REDIS_URL, keyPrefix: process.env.PREFIX, channelName: process.env.CHANNEL,
        lockLifetimeMs: 2000, readyTimeoutMs: 5000, roles: { worker: false }, minIntervalMs: 1000,
      });
      const ids = JSON.parse(process.env.IDS);
      console.log('ready');
      await new Promise((resolve) => process.stdin.once('data', resolve));
      process.stdin.destroy();
      const results = await Promise.all(ids.flatMap((id) => [1, 2].map(() => s.schedule(id, '1 hour', { tokenId: '0.0.11' }, { skipImmediate: true }))));
      console.log(JSON.stringify({ name: s.processName, created: results.filter((r) => r.created).length }));
      await s.stop();
    `;
    const env = { SCHEDULER_MODULE: schedulerModule, REDIS_URL: sharedRedisUrl(), PREFIX: prefix, CHANNEL: channel, IDS: JSON.stringify(ids) };
    const children = [1, 2, 3].map(() => startChild(code, env));
    await Promise.all(children.map((c) => c.ready));
    for (const child of children) child.send('go');
    const reports = (await Promise.all(children.map((c) => c.result))).map((c) => {
      expect(c.code, c.stderr).to.equal(0);
      return JSON.parse(c.stdout.trim()) as { name: string; created: number };
    });
    expect(new Set(reports.map((r) => r.name)).size).to.equal(3);
    expect(reports.reduce((sum, r) => sum + r.created, 0)).to.equal(ids.length);
    const observer = await make({ roles: { worker: false } });
    for (const id of ids) expect(await observer.findSchedule(id), id).to.have.length(1);
  });

  it('a process without the worker role enqueues but never runs jobs', async () => {
    const api = await make({ roles: { worker: false } });
    let ranIn = '';
    api.define('snapshot-role', async () => { ranIn = 'api'; });
    await api.start();
    await api.enqueue('snapshot-role', {});
    await sleep(500);
    expect(ranIn).to.equal('');
    const worker = await make();
    worker.define('snapshot-role', async () => { ranIn = 'worker'; });
    await worker.start();
    await until(() => ranIn !== '', { what: 'the worker to run the job', timeoutMs: 3_000, stepMs: 20 });
    expect(ranIn).to.equal('worker');
  });

  it('validates every: intervals and cron expressions, refusing junk and too-frequent runs', async () => {
    const api = await make({ roles: { worker: false }, minIntervalMs: 60_000 });
    const accepted: [string, string, 'interval' | 'cron', number][] = [
      ['15 minutes', '15 minutes', 'interval', 900_000],
      ['1 minute', '1 minute', 'interval', 60_000],
      [' 1  Hour and 30 minutes ', '1 hour and 30 minutes', 'interval', 5_400_000],
      ['2 days', '2 days', 'interval', 172_800_000],
      ['*/5 * * * *', '*/5 * * * *', 'cron', 300_000],
      ['* * * * *', '* * * * *', 'cron', 60_000],
      ['0 0 * * *', '0 0 * * *', 'cron', 86_400_000],
      ['0 12 * * MON-FRI', '0 12 * * MON-FRI', 'cron', 86_400_000],
    ];
    for (const [input, every, kind, minIntervalMs] of accepted) {
      expect(api.parseEvery(input), input).to.deep.equal({ every, kind, minIntervalMs });
    }
    const refused = ['banana', '2 minutes junk', '-5 minutes', '5', '0 minutes', 'every 5 minutes', 'minutes', '1.5 hours',
      '1e3 minutes', '30 seconds', '59 seconds', '* * * * * *', '*/10 * * * * *', '61 * * * *', '5 minutes * * *',
      '1 minute and', '', 'x'.repeat(101), '0 0 31 2 *'];
    for (const input of refused) expect(() => api.parseEvery(input), JSON.stringify(input)).to.throw(InvalidScheduleError);
    try {
      await api.schedule('bad-every', '2 minutes junk');
      expect.fail('schedule accepted junk');
    } catch (error) {
      expect(error).to.be.instanceOf(InvalidScheduleError);
    }
    expect(await api.findSchedule('bad-every')).to.deep.equal([]);
  });

  it('fails within readyTimeoutMs when the backend is unreachable', async () => {
    const port = await freePort();
    const started = Date.now();
    try {
      await createScheduler(options({ redisUrl: `redis://127.0.0.1:${port}`, readyTimeoutMs: 500 }));
      expect.fail('connected to nothing');
    } catch (error) {
      expect(error).to.be.instanceOf(SchedulerUnavailableError);
      expect((error as Error).message).to.match(/not ready within 500 ms/);
    }
    expect(Date.now() - started).to.be.below(2_000);
  });

  it('stop() waits for a running job within the drain timeout', async () => {
    const worker = await make();
    const events: string[] = [];
    worker.define('snapshot-short', async () => { events.push('running'); await sleep(300); events.push('done'); });
    await worker.start();
    await worker.enqueue('snapshot-short', {});
    await until(() => events.includes('running'), { what: 'the job to start', timeoutMs: 3_000, stepMs: 20 });
    const result = await worker.stop({ drainTimeoutMs: 3_000 });
    expect(result).to.deep.equal({ drained: true, aborted: 0 });
    expect(events).to.deep.equal(['running', 'done']);
  });

  it('stop() returns promptly, aborting a job that outlives the drain', async () => {
    const worker = await make();
    let state = 'idle';
    worker.define('snapshot-long', async (ctx) => {
      state = 'running';
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      state = 'aborted';
    });
    await worker.start();
    await worker.enqueue('snapshot-long', {});
    await until(() => state === 'running', { what: 'the job to start', timeoutMs: 3_000, stepMs: 20 });
    const started = Date.now();
    const result = await worker.stop({ drainTimeoutMs: 300 });
    expect(Date.now() - started).to.be.below(1_500);
    expect(result).to.deep.equal({ drained: false, aborted: 1 });
    expect(state).to.equal('aborted');
    try {
      await worker.enqueue('snapshot-long', {});
      expect.fail('a stopped scheduler took a job');
    } catch (error) {
      expect(error).to.be.instanceOf(SchedulerUnavailableError);
    }
  });

  it('a worker process exits on its own soon after stop() (no stray timers or connections)', async function () {
    this.timeout(20_000);
    const code = `
      const { createScheduler } = await import(process.env.SCHEDULER_MODULE);
      const s = await createScheduler({
        redisUrl: process.env.REDIS_URL, keyPrefix: process.env.PREFIX, channelName: process.env.CHANNEL,
        lockLifetimeMs: 1000, readyTimeoutMs: 5000, roles: { worker: true }, processEveryMs: 100,
      });
      let done;
      const finished = new Promise((r) => { done = r; });
      s.define('snapshot-exit', async (ctx) => { await ctx.progress(50); done(); });
      await s.start();
      await s.enqueue('snapshot-exit', {});
      await finished;
      await s.stop();
      console.log(String(Date.now()));
    `;
    const child = await runChild(code, { SCHEDULER_MODULE: schedulerModule, REDIS_URL: sharedRedisUrl(), PREFIX: prefix, CHANNEL: channel });
    expect(child.code, child.stderr).to.equal(0);
    const stoppedAt = Number(child.stdout.trim());
    // Agenda's keep-alive timer may outlive the job by lockLifetime / 2 (500 ms here).
    expect(child.exitedAt - stoppedAt).to.be.below(1_500);
  });

  it('a process whose backend is unreachable gets a clear error and exits by itself', async function () {
    const port = await freePort();
    const code = `
      const { createScheduler } = await import(process.env.SCHEDULER_MODULE);
      const started = Date.now();
      try {
        await createScheduler({
          redisUrl: process.env.REDIS_URL, keyPrefix: '{x}:', channelName: 'x', lockLifetimeMs: 1000, readyTimeoutMs: 400,
          commandTimeoutMs: 300, roles: { worker: true }, onError: () => {},
        });
      } catch (error) {
        console.log(JSON.stringify({ code: error.code, ms: Date.now() - started, at: Date.now() }));
      }
    `;
    const child = await runChild(code, { SCHEDULER_MODULE: schedulerModule, REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(child.code, child.stderr).to.equal(0);
    const report = JSON.parse(child.stdout.trim()) as { code: string; ms: number; at: number };
    expect(report.code).to.equal('SCHEDULER_UNAVAILABLE');
    expect(report.ms).to.be.below(1_000);
    // A command ioredis queued while the backend was unreachable holds its timer until the
    // command timeout (300 ms here); nothing else may keep the process alive.
    expect(child.exitedAt - report.at).to.be.below(1_000);
  });

  describe('on Redis Cluster (3 masters)', () => {
    let cluster: RedisClusterHandle;
    before(async function () {
      this.timeout(30_000);
      cluster = await startCluster(3);
    });
    after(async () => { await cluster?.stop(); });
    const onCluster = () => ({ redisUrl: undefined, redisClusterUrls: cluster.rootNodes.map((n) => n.url) });

    it('runs, retries and schedules once through a cluster client, with every key in one slot', async () => {
      const worker = await make(onCluster());
      const other = await make({ ...onCluster(), roles: { worker: false } });
      const done: string[] = [];
      worker.onRetryExhausted((e) => { done.push(`${e.jobName}:exhausted:${e.attempt}`); });
      worker.define('snapshot-ok', async (ctx) => { await ctx.progress(50); done.push(ctx.jobName); });
      worker.define('snapshot-bad', async () => { throw new Error('no'); }, { attempts: 2, backoffMs: 100 });
      await worker.start();
      await other.start();
      await other.enqueue('snapshot-ok', {});
      await other.enqueue('snapshot-bad', {});
      await until(() => done.length === 2, { what: 'both jobs to finish', timeoutMs: 8_000, stepMs: 20 });
      expect(done.sort()).to.deep.equal(['snapshot-bad:exhausted:2', 'snapshot-ok']);
      const ids = Array.from({ length: 10 }, (_, i) => `cluster-race-${i}`);
      await Promise.all(ids.flatMap((id) => [worker, other].map((s) => s.schedule(id, '1 hour', {}, { skipImmediate: true }))));
      for (const id of ids) expect(await other.findSchedule(id), id).to.have.length(1);
      await worker.ping();
      const perNode = await Promise.all(cluster.nodes.map(async (node) => {
        const client = await connect(node.url);
        try {
          return (await client.keys(`${prefix}*`)).length;
        } finally {
          client.destroy();
        }
      }));
      expect(perNode.filter((n) => n > 0), JSON.stringify(perNode)).to.have.length(1);
    });

    it('refuses a key prefix without a hash tag on a cluster', async () => {
      try {
        await createScheduler(options({ ...onCluster(), keyPrefix: 'tally:agenda:' }));
        expect.fail('accepted a prefix without a hash tag');
      } catch (error) {
        expect((error as Error).message).to.match(/hash tag/);
      }
    });
  });
});
