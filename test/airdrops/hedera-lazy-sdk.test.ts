// @hashgraph/sdk is large (about a second to load here): `tally` must not load it to start, show
// help or run any other command, only inside `tally airdrop hedera`. A resolve hook in the CLI
// child reports every import of the SDK; the airdrop command proves the hook sees it.
import { expect } from 'chai';
import { tally } from '../cli/tally.ts';

const hook = "--import=data:text/javascript,import{registerHooks}from'node:module';registerHooks({resolve(s,c,n){if(s.startsWith('@hashgraph/sdk'))process.stderr.write('sdk-loaded\\n');return(n(s,c))}})";

describe('tally loads @hashgraph/sdk only for tally airdrop hedera', function () {
  this.timeout(60_000);

  it('not for --help, airdrop --help or another command', async () => {
    for (const args of [['--help'], ['airdrop', '--help'], ['airdrop', 'hedera', '--help'], ['token', 'ops']]) {
      const run = await tally(args, { NODE_OPTIONS: hook, JWT_SECRET: 'a'.repeat(32) });
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).to.equal(0);
      expect(run.stderr, args.join(' ')).to.not.include('sdk-loaded');
    }
  });

  it('but for the plan itself (which then fails here: no Redis on port 1)', async () => {
    const run = await tally(['airdrop', 'hedera', '--snapshot', 'x', '--token', '0.0.1', '--sender', '0.0.2', '--fixed', '1', '--out', '/tmp/tally-lazy-sdk-plan.json'],
      { NODE_OPTIONS: hook, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include('sdk-loaded');
  });
});
