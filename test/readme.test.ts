// Runs the README's redis-cli block verbatim (through bash and the real redis-cli) against a
// fresh server with the library loaded, and compares every reply with the README's text. Stream
// ids are the only part allowed to differ.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from '../testkit/clients.ts';
import { type RedisServer, startRedis } from '../testkit/redis-server.ts';
import { migrate } from '../src/migrate/migrations.ts';

const streamId = /\b\d{13}-\d+\b/g;

function readmeExamples(): { command: string; expected: string }[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /## The ledger from redis-cli[\s\S]*?```console\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README has no redis-cli console block');
  const examples: { command: string; expected: string }[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('$ ')) examples.push({ command: line.slice(2), expected: '' });
    else if (line && examples.length) examples.at(-1)!.expected += `${line}\n`;
  }
  return examples;
}

describe('README redis-cli examples', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
    const client = await connect(server.url);
    await migrate(client);
    client.destroy();
  });
  after(async () => { await server.stop(); });

  it('give the replies the README shows', () => {
    const examples = readmeExamples();
    expect(examples.length).to.be.greaterThan(8);
    for (const { command, expected } of examples) {
      expect(command).to.match(/^redis-cli /);
      const actual = execFileSync('bash', ['-c', command.replace(/^redis-cli /, `redis-cli -p ${server.port} --no-raw `)], { encoding: 'utf8' });
      expect(actual.replace(streamId, 'ID'), command).to.equal(expected.replace(streamId, 'ID'));
    }
  });
});
