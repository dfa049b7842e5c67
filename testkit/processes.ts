// The one child-process harness of the tests and benchmarks: real Tally processes
// (`node src/main.ts`), `npm start` or `make run`, and the benchmark's Node children. Each runs
// in its own process group (a signal reaches npm, its shell and node alike), its output is
// captured, it is stopped (SIGKILL after a bound) by its owner and never left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { until } from './wait.ts';

export const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const started = new Set<ChildProcess>();
const outputTailChars = 2_000;
const waitForTimeoutMsDefault = 20_000;
const stopTimeoutMsDefault = 15_000;
const kill9TimeoutMs = 1_000;

export interface ProcessOptions {
  /** Default: this Node binary. */
  command?: string;
  args: string[];
  /** Default: the repository root. */
  cwd?: string;
  /** The whole environment (spread process.env in for an inherited one). */
  env: NodeJS.ProcessEnv;
  /** 'pipe' keeps stdin open (send, and stop by closing it); default 'ignore'. */
  stdin?: 'ignore' | 'pipe';
  /** 'inherit' passes stderr through instead of capturing it. */
  stderr?: 'capture' | 'inherit';
  /** Called with every line of stdout. */
  onLine?: (line: string) => void;
  /** How stop() asks the process to end: SIGTERM to its group (default) or closing its stdin. */
  stopBy?: 'SIGTERM' | 'stdin';
}

export interface ExitStatus { code: number | null; signal: NodeJS.Signals | null }

export interface ManagedProcess {
  child: ChildProcess;
  pid: number;
  /** stdout and stderr as they came. */
  output(): string;
  stdout(): string;
  stderr(): string;
  exited: Promise<ExitStatus>;
  /** Resolves once the output matches; throws on exit or timeout, with the output's tail. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Writes a line to stdin (stdin: 'pipe'). */
  send(line: string): void;
  /** Signals the process group and waits for the exit, SIGKILL after timeoutMs. */
  signal(signal: NodeJS.Signals, timeoutMs: number): Promise<void>;
  /** Asks the process to end (see stopBy) and waits, SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<void>;
  kill9(): Promise<void>;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): boolean {
  try { process.kill(-child.pid!, signal); return true; } catch { return false; /* gone */ }
}

export function startProcess(options: ProcessOptions): ManagedProcess {
  const command = options.command ?? process.execPath;
  const child = spawn(command, options.args, {
    cwd: options.cwd ?? repoRoot, env: options.env, detached: true,
    stdio: [options.stdin ?? 'ignore', 'pipe', options.stderr === 'inherit' ? 'inherit' : 'pipe'],
  });
  const name = [command === process.execPath ? 'node' : command, ...options.args.slice(0, 1)].join(' ');
  started.add(child);
  let all = '';
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { all += d; out += d; });
  child.stderr?.on('data', (d) => { all += d; err += d; });
  if (options.onLine) createInterface({ input: child.stdout! }).on('line', options.onLine);
  child.stdin?.on('error', () => { /* the child is gone; exited reports it */ });
  // 'close', not 'exit': by then every line the process wrote has been read.
  const exited = new Promise<ExitStatus>((resolve) => child.once('close', (code, signal) => {
    started.delete(child);
    resolve({ code, signal });
  }));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  const endAndWait = async (ask: () => boolean, timeoutMs: number) => {
    if (hasExited() || !ask()) return;
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  };
  const signal = (sig: NodeJS.Signals, timeoutMs: number) => endAndWait(() => killGroup(child, sig), timeoutMs);
  return {
    child,
    pid: child.pid!,
    output: () => all,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(pattern, timeoutMs = waitForTimeoutMsDefault) {
      let match: RegExpMatchArray | null = null;
      try {
        await until(() => {
          match = all.match(pattern);
          if (match) return true;
          if (hasExited()) throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode} before ${pattern}`);
          return false;
        }, { what: String(pattern), timeoutMs });
      } catch (error) {
        throw new Error(`${(error as Error).message}:\n${all.slice(-outputTailChars)}`);
      }
      return match!;
    },
    send(line) { child.stdin!.write(`${line}\n`); },
    signal,
    stop: (timeoutMs = stopTimeoutMsDefault) => options.stopBy === 'stdin'
      ? endAndWait(() => { child.stdin!.end(); return true; }, timeoutMs)
      : signal('SIGTERM', timeoutMs),
    kill9: () => signal('SIGKILL', kill9TimeoutMs),
  };
}

/**
 * Runs a command to its end, killed after `timeoutMs`; resolves with its output when it exits 0,
 * rejects with the exit status and the output's tail otherwise.
 */
export async function runToExit(options: ProcessOptions, timeoutMs: number): Promise<string> {
  const run = startProcess(options);
  const timer = setTimeout(() => { void run.kill9(); }, timeoutMs);
  const { code, signal } = await run.exited;
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(`${options.command ?? 'node'} ${options.args.join(' ')} exited with ${code ?? signal}: ${run.output().slice(-outputTailChars)}`);
  }
  return run.output();
}

export type TallyProcess = ManagedProcess;

/** `node src/main.ts` with LOG_LEVEL=info (the lines tests wait for) and the given env on top. */
export function spawnTally(env: Record<string, string>): TallyProcess {
  return startProcess({ args: ['src/main.ts'], env: { ...process.env, LOG_LEVEL: 'info', ...env } });
}

process.once('exit', () => {
  for (const child of started) killGroup(child, 'SIGKILL');
});
