// The `tally` process itself: --version, help, an old Node, a closed stdout, tab completion.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { openIpfsStore } from '../../src/snapshots/ipfs-store.ts';
import { createLedger } from '../../src/ledger/client.ts';
import { connectRedis } from '../../src/connections.ts';
import { startProcess } from '../../testkit/processes.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { cliEnv, emptyDir, tally, tallyBin } from './tally.ts';

const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const systemNode = '/usr/bin/node';
const systemNodeVersion = existsSync(systemNode) ? execFileSync(systemNode, ['-v'], { encoding: 'utf8' }).trim() : '';
const systemNodeIsOld = /^v(1\d|2[01])\.|^v22\.(\d|1[0-7])\./.test(systemNodeVersion);

/** `bash -c script` with the CLI's environment; resolves with its stdout and stderr. */
async function bash(script: string, env: Record<string, string> = {}) {
  const proc = startProcess({ command: 'bash', args: ['-c', script], cwd: emptyDir, env: cliEnv({ TALLY: tallyBin, NODE: process.execPath, ...env }) });
  const { code } = await proc.exited;
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

describe('tally process', function () {
  this.timeout(30_000);

  it('--version and -V print package.json\'s version and exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      const run = await tally([flag]);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.equal(`${packageVersion}\n`);
    }
  });

  it('help <command> prints that command\'s help and exits 0; help of an unknown command exits 2', async () => {
    const [top, events, unknown] = await Promise.all([tally(['help', 'top']), tally(['help', 'events']), tally(['help', 'frobnicate'])]);
    expect(top.code).to.equal(0);
    expect(top.stdout).to.match(/^Usage: tally top \[options\] <SYM>/);
    expect(events.code).to.equal(0);
    expect(events.stdout).to.include('--follow');
    expect(unknown.code).to.equal(2);
  });

  describe(`on the machine's Node (${systemNodeVersion || 'none'})`, () => {
    before(function () { if (!systemNodeIsOld) this.skip(); });

    it('runs on the Node in .tools/: --version, exit codes and stdin pass through', async () => {
      const version = await tally(['--version'], {}, { node: systemNode });
      expect(version.code, version.stderr).to.equal(0);
      expect(version.stdout).to.equal(`${packageVersion}\n`);
      const missing = await tally(['balance', uniqueSymbol('NONE'), 'alice'], {}, { node: systemNode });
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.match(/^tally: TOKEN_NOT_FOUND: /);
      const usage = await tally(['top'], {}, { node: systemNode });
      expect(usage.code).to.equal(2);
      const ledgerRedis = await connectRedis({ url: sharedRedisUrl() });
      try {
        const sym = uniqueSymbol('CLN');
        await createLedger(ledgerRedis).init(sym, { name: 'Old node', decimals: 0, totalSupply: '10', treasury: 'alice' });
        const batch = await tally(['batch', sym], {}, { node: systemNode, stdin: 'alice,bob,3\n' });
        expect(batch.code, batch.stderr).to.equal(0);
        expect(await createLedger(ledgerRedis).balance(sym, 'bob')).to.equal('3');
      } finally {
        ledgerRedis.destroy();
      }
    });

    it('says which Node it needs when there is no .tools/ Node either', async () => {
      const copy = mkdtempSync(join(tmpdir(), 'tally-bin-'));
      mkdirSync(join(copy, 'bin'));
      copyFileSync(tallyBin, join(copy, 'bin', 'tally.js'));
      copyFileSync(new URL('../../package.json', import.meta.url), join(copy, 'package.json'));
      const run = await bash(`"${systemNode}" "${join(copy, 'bin', 'tally.js')}" --version`);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.match(/^tally: needs Node >= 22\.18 \(this is v\d+\.\d+\.\d+\); install it, or run `make run` once/);
    });
  });

  it('a closed stdout ends the command with exit 0 and nothing on stderr (cat | head, events | head)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tally-epipe-'));
    const ipfs = await openIpfsStore({ dir: join(dataDir, 'ipfs') });
    const { cid } = await ipfs.addBytes([new Uint8Array(4 * 1_048_576).fill(65)]);
    await ipfs.stop();
    const cat = await bash('"$NODE" "$TALLY" cat "$CID" | head -c 10; echo " ${PIPESTATUS[0]}"', { DATA_DIR: dataDir, CID: cid });
    expect(cat.stdout).to.equal('AAAAAAAAAA 0\n');
    expect(cat.stderr).to.equal('');

    const redis = await connectRedis({ url: sharedRedisUrl() });
    const sym = uniqueSymbol('CLP');
    const ledger = createLedger(redis);
    await ledger.init(sym, { name: 'Pipe', decimals: 0, totalSupply: '100000', treasury: 'alice' });
    for (let i = 0; i < 20; i++) {
      await ledger.transferBatch(sym, { legs: Array.from({ length: 100 }, (_, j) => ({ from: 'alice', to: `holder-${i}-${j}`, amount: '1' })) });
    }
    redis.destroy();
    const events = await bash(`"$NODE" "$TALLY" events ${sym} --limit 1000000 | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`);
    expect(events.stdout).to.equal('0\n');
    expect(events.stderr).to.equal('');
  });

  it('completion bash completes commands, options and shells; completion zsh names every command', async () => {
    const complete = (words: string) => bash(`source <("$NODE" "$TALLY" completion bash); COMP_WORDS=(${words}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _tally; echo "\${COMPREPLY[*]}"`);
    const runs = await Promise.all([complete('tally tr'), complete('tally events GOLD --fo'), complete('tally completion ""'), complete('tally help ba'), complete('tally b')]);
    expect(runs.map((run) => run.stdout)).to.deep.equal(['transfer\n', '--follow\n', 'bash zsh\n', 'balance batch\n', 'burn balance batch\n']);
    const zsh = await tally(['completion', 'zsh']);
    expect(zsh.code).to.equal(0);
    expect(zsh.stdout).to.match(/^#compdef tally\n/);
    for (const command of ['init', 'transfer', 'info', 'supply', 'tokens', 'events', 'batch', 'completion']) expect(zsh.stdout).to.include(`'${command}\\:`);
    expect((await tally(['completion', 'fish'])).code).to.equal(2);
  });
});
