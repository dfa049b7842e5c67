// Real Tally processes (`node src/main.ts`) for multi-process tests: each in its own process
// group, its output captured, stopped (or SIGKILLed) by the test and never left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const started = new Set<ChildProcess>();

export interface TallyProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves once the output matches; rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM and wait for the exit (SIGKILL after timeoutMs). */
  stop(timeoutMs?: number): Promise<void>;
  kill9(): Promise<void>;
}

export function spawnTally(env: Record<string, string>): TallyProcess {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
  });
  started.add(child);
  let text = '';
  child.stdout!.on('data', (d) => { text += d; });
  child.stderr!.on('data', (d) => { text += d; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => { started.delete(child); resolve(); }));
  const signal = async (sig: NodeJS.Signals, timeoutMs: number) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try { process.kill(-child.pid!, sig); } catch { return; }
    const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    child,
    output: () => text,
    async waitFor(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = text.match(pattern);
        if (match) return match;
        if (child.exitCode !== null) throw new Error(`tally exited with ${child.exitCode} before ${pattern}:\n${text.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${text.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: (timeoutMs = 15_000) => signal('SIGTERM', timeoutMs),
    kill9: () => signal('SIGKILL', 1_000),
  };
}

process.once('exit', () => {
  for (const child of started) { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }
});
