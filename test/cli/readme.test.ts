// Runs every line of the README's "The tally CLI" console block as written (through bash, with
// `npx tally` being bin/tally.js) against a fresh server, and compares the output with the
// README's text; ids, times and the JWT's bytes are the only parts allowed to differ. Every
// command the section's table names must be a real one.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { migrate } from '../../src/migrate/migrations.ts';
import { connect } from '../../testkit/clients.ts';
import { startProcess } from '../../testkit/processes.ts';
import { type RedisServer, startRedis } from '../../testkit/redis-server.ts';
import { cliEnv, emptyDir, tally, tallyBin } from './tally.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = /## The tally CLI\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const normalize = (text: string) => text
  .replace(/\b\d{13}-\d+\b/g, 'ID')
  .replace(/"(ts|createdAt)":\d{13}/g, '"$1":MS')
  .replace(/^[\w-]+\.[\w-]+\.[\w-]+$/gm, 'JWT');

function examples(): { command: string; expected: string }[] {
  const block = /```console\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('the README\'s tally CLI section has no console block');
  const found: { command: string; expected: string }[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('$ ')) found.push({ command: line.slice(2), expected: '' });
    else if (line && found.length) found.at(-1)!.expected += `${line}\n`;
  }
  return found;
}

describe('README tally CLI section', function () {
  this.timeout(60_000);
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
    const client = await connect(server.url);
    await migrate(client);
    client.destroy();
  });
  after(async () => { await server.stop(); });

  it('every console line runs as written and prints what the README shows', async () => {
    const lines = examples();
    expect(lines.length).to.be.at.least(10);
    for (const { command, expected } of lines) {
      expect(command).to.match(/\bnpx tally /);
      const script = command.replaceAll('npx tally ', '"$NODE" "$TALLY" ');
      const env = cliEnv({ REDIS_URL: server.url, NODE: process.execPath, TALLY: tallyBin, JWT_SECRET: 'readme-secret-0123456789abcdef0123' });
      const proc = startProcess({ command: 'bash', args: ['-c', `set -o pipefail; ${script}`], cwd: emptyDir, env });
      const { code } = await proc.exited;
      expect(code, `${command}\n${proc.stderr()}`).to.equal(0);
      const shown = command.endsWith('--version') ? `${packageVersion}\n` : expected;
      expect(normalize(proc.stdout()), command).to.equal(normalize(shown));
    }
  });

  it('every command the table names is one tally has', async () => {
    const help = (await tally(['--help'])).stdout;
    const named = [...section.matchAll(/`tally ([a-z]+)/g)].map((m) => m[1]!);
    expect(named.length).to.be.greaterThan(10);
    for (const command of new Set(named)) expect(help, command).to.match(new RegExp(`\\n  ${command}\\b`));
  });
});
