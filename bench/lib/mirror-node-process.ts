// A child process serving the local mirror node (testkit/mirror-node.ts) over generated
// holders, so that its CPU and its memory (the whole holder list) stay out of the snapshot
// process being measured. Sends {url, holders, totalSupply} once it listens.
import { childOptions, exitWithParent, sendToParent } from './child.ts';
import { generateHolders, startMirrorNode } from '../../testkit/mirror-node.ts';

export interface MirrorNodeOptions {
  tokenId: string;
  holders: number;
  seed: number;
}

export interface MirrorNodeReady {
  url: string;
  holders: number;
  totalSupply: string;
  setupMs: number;
}

async function main(): Promise<void> {
  const options = childOptions<MirrorNodeOptions>();
  const startMs = performance.now();
  const holders = generateHolders({ count: options.holders, seed: options.seed });
  const totalSupply = holders.reduce((sum, h) => sum + h.balance, 0n);
  const node = await startMirrorNode({
    tokens: [{ tokenId: options.tokenId, name: 'Bench token', symbol: 'BENCH', decimals: 8, totalSupply, holders }],
  });
  exitWithParent(() => node.close());
  const ready: MirrorNodeReady = { url: node.url, holders: holders.length, totalSupply: totalSupply.toString(), setupMs: performance.now() - startMs };
  sendToParent(ready);
}

await main();
