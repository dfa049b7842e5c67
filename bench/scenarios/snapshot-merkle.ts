// The Merkle tree of a snapshot of every holder (1,000,000; 100,000 when quick), in its own
// process: the time to build the tree and store its dump on IPFS, the process's peak RSS by then
// (target 512 MB), and the time to serve one proof from the stored dump. The holders come from a
// generator (the pipeline reads them from the snapshot file the same way, twice), so the figure is
// the tree's and the dump's alone. No baseline: StandardMerkleTree.of, the library's own builder,
// needs 18 s and 425 MB for 100,000 leaves here and does not finish a million within the memory.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { resultRow } from '../lib/results.ts';
import type { BenchContext, ResultRow, Scenario } from '../lib/types.ts';

const rssTargetMb = 512;
const proofsMeasured = 200;
const childMarker = '--merkle-child';

interface ChildResult { storeMs: number; dumpBytes: number; proofMs: number; rssPeakMb: number; rssBeforeMb: number; rssAfterProofsMb: number }

async function* syntheticHolders(count: number) {
  for (let i = 0; i < count; i++) yield { account: `0.0.${1000 + i * 3}`, balance: String(1n + ((BigInt(i) * 2654435761n) % (10n ** 24n))) };
}

/** Runs in the child process: build, store, prove; prints one JSON line. */
async function child(count: number): Promise<void> {
  const [{ openIpfsStore }, { storeMerkleTree }, { proveFromDump }] = await Promise.all([
    import('../../src/snapshots/ipfs-store.ts'), import('../../src/snapshots/pipeline.ts'), import('../../src/snapshots/merkle.ts'),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-merkle-'));
  const ipfs = await openIpfsStore({ dir });
  try {
    const rssBeforeMb = process.memoryUsage().rss / 1024 / 1024;
    const started = performance.now();
    const summary = await storeMerkleTree({ ipfs }, () => syntheticHolders(count), count);
    const storeMs = performance.now() - started;
    const rssPeakMb = process.resourceUsage().maxRSS / 1024; // the tree's figure: before any proof is served
    const proofStart = performance.now();
    for (let i = 0; i < proofsMeasured; i++) {
      const account = `0.0.${1000 + Math.floor((i * count) / proofsMeasured) * 3}`;
      const proof = await proveFromDump((o, l) => ipfs.readRange(summary!.treeCid, o, l), summary!, account);
      if (proof === null) throw new Error(`no proof for ${account}`);
    }
    const proofMs = (performance.now() - proofStart) / proofsMeasured;
    const result: ChildResult = { storeMs, dumpBytes: summary!.bytes, proofMs, rssPeakMb, rssBeforeMb, rssAfterProofsMb: process.resourceUsage().maxRSS / 1024 };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await ipfs.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(ctx: BenchContext): Promise<ResultRow[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [fileURLToPath(import.meta.url), childMarker, String(ctx.holders)], { maxBuffer: 1024 * 1024 });
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult;
  const scenario = `snapshot Merkle tree, ${ctx.holders.toLocaleString('en-US')} holders`;
  ctx.log(`  tree + dump on IPFS: ${(r.storeMs / 1000).toFixed(1)} s, ${(r.dumpBytes / 1024 / 1024).toFixed(0)} MB dump, peak RSS ${r.rssPeakMb.toFixed(0)} MB, ` +
    `a proof from the stored dump in ${r.proofMs.toFixed(2)} ms`);
  return [
    resultRow({ scenario, figure: 'peak RSS', unit: 'MB', value: r.rssPeakMb, baseline: 'target (no baseline)', baselineValue: rssTargetMb, target: { op: '<=', ratio: 1 },
      note: `VmHWM of a process that builds the tree and stores its dump (${(r.dumpBytes / 1024 / 1024).toFixed(0)} MB) on IPFS, before serving proofs; ` +
        `${r.rssBeforeMb.toFixed(0)} MB before (modules, Helia); ${r.rssAfterProofsMb.toFixed(0)} MB after ${proofsMeasured} proofs (block reads awaiting GC)` }),
    resultRow({ scenario, figure: 'tree + dump stored', unit: 's', value: r.storeMs / 1000, baseline: 'none (information)', baselineValue: r.storeMs / 1000,
      note: 'two keccak256 per leaf, one per inner node, over bytes in one reused Keccak state (@noble/hashes\' permutation); the tree equals StandardMerkleTree.of\'s' }),
    resultRow({ scenario, figure: 'one proof from the dump', unit: 'ms', value: r.proofMs, baseline: 'none (information)', baselineValue: r.proofMs,
      note: `mean of ${proofsMeasured} proofs, range reads of the stored dump through the IPFS window cache` }),
  ];
}

export const snapshotMerkle: Scenario = { name: 'snapshot-merkle', run };

if (process.argv[2] === childMarker) await child(Number(process.argv[3]));
