// Benchmark parts that must not share a process with what they measure (an HTTP server under
// load, a mirror node serving a snapshot, a snapshot whose peak RSS is the figure) run as Node
// children of the bench. Parent and child speak JSON lines: the options go in argv, messages
// come back on stdout, stderr passes through. A child exits when its stdin closes, so a bench
// that dies leaves no orphan behind. The process itself is testkit/processes.ts's.
import { readFileSync } from 'node:fs';
import { startProcess } from '../../testkit/processes.ts';

const stopTimeoutMs = 10_000;
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const clockTicksPerSecond = 100;

export interface BenchChild<M> {
  pid: number;
  /** The next message; rejects when the child exits first or nothing comes within `timeoutMs`. */
  next(timeoutMs: number): Promise<M>;
  /** Closes its stdin (the child's signal to clean up and exit), SIGKILL after a timeout. */
  stop(): Promise<void>;
}

/** Starts `node <entry> <JSON options>`; `nodeArgs` go before the entry (e.g. --cpu-prof). */
export function startChild<M>(entry: URL, options: unknown, nodeArgs: string[] = []): BenchChild<M> {
  const queued: M[] = [];
  const waiting: Array<{ resolve: (m: M) => void; reject: (e: Error) => void }> = [];
  let exited: Error | null = null;
  const child = startProcess({
    args: [...nodeArgs, entry.pathname, JSON.stringify(options)],
    cwd: process.cwd(), env: process.env, stdin: 'pipe', stderr: 'inherit', stopBy: 'stdin',
    onLine: (line) => {
      const message = JSON.parse(line) as M;
      const waiter = waiting.shift();
      if (waiter) waiter.resolve(message);
      else queued.push(message);
    },
  });
  void child.exited.then(({ code, signal }) => {
    exited = new Error(`bench child ${entry.pathname} exited (${signal ?? code})`);
    for (const waiter of waiting.splice(0)) waiter.reject(exited);
  });

  return {
    pid: child.pid,
    next(timeoutMs) {
      const message = queued.shift();
      if (message !== undefined) return Promise.resolve(message);
      if (exited) return Promise.reject(exited);
      return new Promise<M>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message from ${entry.pathname} within ${timeoutMs} ms`)), timeoutMs);
        waiting.push({
          resolve: (m) => { clearTimeout(timer); resolve(m); },
          reject: (e) => { clearTimeout(timer); reject(e); },
        });
      });
    },
    stop: () => child.stop(stopTimeoutMs),
  };
}

// ---------------------------------------------------------------- the child's side

/** The options the parent passed. */
export function childOptions<T>(): T {
  const text = process.argv[2];
  if (text === undefined) throw new Error('usage: node <entry> <JSON options> (started by bench/lib/child.ts)');
  return JSON.parse(text) as T;
}

export function sendToParent(message: unknown): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Runs `cleanup` and exits once the parent closes stdin (or goes away). */
export function exitWithParent(cleanup: () => Promise<void>): void {
  process.stdin.on('end', () => {
    cleanup().then(() => process.exit(0), (error: unknown) => {
      process.stderr.write(`bench child cleanup failed: ${(error as Error).message}\n`);
      process.exit(1);
    });
  });
  process.stdin.resume();
}

// ---------------------------------------------------------------- CPU of a process

/** User + system CPU seconds a process has used so far (Linux /proc). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}
