// Runs the README top to bottom as a user would: one fresh `make run` (its own redis-server, no
// REDIS_URL, no JWT_SECRET), then every ```console block's `$ ` commands, in order, in one bash
// shell whose environment holds nothing the README does not tell the user to set: PATH with
// .tools/node_modules/.bin, HOME, and DATA_DIR (the test's own data directory, so that it never
// touches ./data; the CLI finds make run's tally.env through it as it finds ./data/tally.env).
// Each command's stdout must equal the lines the README shows under it (a failing command's
// stdout, or its stdout and then stderr). Machine-specific parts are normalised: stream ids, JWTs, timestamps; the
// API port 3000 and redis-cli's server are those of this make run (redis-cli also gets --no-raw,
// the format it prints on a terminal). `$ make run` lines are the make run already started.
// A block preceded by `<!-- not run: reason -->` is skipped with that reason printed.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../testkit/free-port.ts';
import { type ManagedProcess, repoRoot, startProcess } from '../testkit/processes.ts';

const startTimeoutMs = 90_000;
const commandTimeoutMs = 60_000;
const blocksMin = 4;

export interface ConsoleCommand { command: string; expected: string }
export interface ConsoleBlock { section: string; line: number; skipReason?: string; commands: ConsoleCommand[] }

/** Every ```console block of a Markdown text, its `$ ` commands (with `\` continuations) and the
 * lines shown after each. */
export function consoleBlocks(markdown: string): ConsoleBlock[] {
  const lines = markdown.split('\n');
  const blocks: ConsoleBlock[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.startsWith('#')) section = lines[i]!.replace(/^#+\s*/, '');
    if (lines[i] !== '```console') continue;
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const skipReason = /^<!-- not run: (.*) -->$/.exec(lines[before] ?? '')?.[1];
    const block: ConsoleBlock = { section, line: i + 1, skipReason, commands: [] };
    for (i++; i < lines.length && lines[i] !== '```'; i++) {
      const line = lines[i]!;
      if (line.startsWith('$ ')) {
        let command = line.slice(2);
        while (command.endsWith('\\') && i + 1 < lines.length) command += `\n${lines[++i]}`;
        block.commands.push({ command, expected: '' });
      } else if (block.commands.length) block.commands.at(-1)!.expected += `${line}\n`;
    }
    blocks.push(block);
  }
  return blocks;
}

/** What may differ between the README and this machine. */
export function normalise(text: string): string {
  return text
    .replace(/\beyJ[\w-]*\.[\w-]*\.[\w-]*/g, '<JWT>')
    .replace(/\b\d{13}-\d+\b/g, '<ID>')
    .replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\b/g, '<TIME>')
    .replace(/\b1\d{12}\b/g, '<MS>')
    .replace(/[ \t]+$/gm, '')
    .trimEnd(); // curl prints a body without a final newline
}

const readmeBlocks = consoleBlocks(readFileSync(join(repoRoot, 'README.md'), 'utf8'));

describe('README walkthrough: every console block against one make run', function () {
  this.timeout(startTimeoutMs + 30_000);
  let workDir: string;
  let server: ManagedProcess;
  let shell: ManagedProcess;
  let apiPort: number;
  let redisPort: number;
  let commandsRun = 0;

  before(async () => {
    expect(readmeBlocks.length, 'console blocks in the README').to.be.at.least(blocksMin);
    workDir = mkdtempSync(join(tmpdir(), 'tally-readme-'));
    const dataDir = join(workDir, 'data');
    apiPort = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(apiPort), HOST: '127.0.0.1', DATA_DIR: dataDir, TALLY_NAMESPACE: 'readme' };
    for (const name of ['REDIS_URL', 'REDIS_CLUSTER_URLS', 'JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL', 'MONGODB_URL', 'LOG_LEVEL']) delete env[name];
    server = startProcess({ command: 'make', args: ['--no-print-directory', 'run'], env });
    await server.waitFor(/tally listening on/, startTimeoutMs);
    redisPort = Number((await server.waitFor(/started redis-server .* on redis:\/\/127\.0\.0\.1:(\d+)/))[1]);
    const path = (process.env.PATH ?? '').split(':').filter((dir) => !dir.includes('node_modules/.bin'));
    shell = startProcess({
      command: 'bash', args: ['--noprofile', '--norc'], stdin: 'pipe', stopBy: 'stdin',
      env: { PATH: [`${repoRoot}.tools/node_modules/.bin`, ...path].join(':'), HOME: process.env.HOME, DATA_DIR: dataDir },
    });
  });

  after(async () => {
    await shell?.stop(5_000);
    await server?.stop(20_000);
    rmSync(workDir, { recursive: true, force: true });
  });

  /** Runs one command in the shell (its variables persist); its stdout, stderr and status. */
  async function run(command: string): Promise<{ stdout: string; stderr: string; status: number }> {
    const n = ++commandsRun;
    const file = (suffix: string) => join(workDir, `command-${n}.${suffix}`);
    const local = command
      .replace(/^redis-cli /, `redis-cli -p ${redisPort} --no-raw `)
      .replaceAll('127.0.0.1:3000', `127.0.0.1:${apiPort}`);
    writeFileSync(file('sh'), `${local}\n`);
    shell.send(`source ${file('sh')} >${file('out')} 2>${file('err')} </dev/null; echo "done-${n} $?"`);
    const status = Number((await shell.waitFor(new RegExp(`done-${n} (\\d+)`), commandTimeoutMs))[1]);
    return { stdout: readFileSync(file('out'), 'utf8'), stderr: readFileSync(file('err'), 'utf8'), status };
  }

  for (const block of readmeBlocks) {
    it(`${block.section} (README line ${block.line}) answers as shown`, async function () {
      if (block.skipReason) {
        console.log(`      skipped: ${block.section} (README line ${block.line}): ${block.skipReason}`);
        this.skip();
      }
      for (const { command, expected } of block.commands) {
        if (/^make run\b/.test(command)) continue; // the make run started above
        const { stdout, stderr, status } = await run(command);
        const shown = normalise(expected);
        const actual = status !== 0 && normalise(stdout) !== shown ? stdout + stderr : stdout;
        expect(normalise(actual), `$ ${command} (exit ${status})`).to.equal(shown);
      }
    });
  }
});
