// `tally airdrop hedera` end to end without a network: a snapshot taken with `tally snapshot`
// against the local mirror node, a plan written and signed by the CLI, bad input refused with no
// plan file, and `--submit` skipping what the mirror node's /transactions/{id} shows executed (a
// rerun). Sending itself needs a network: the last test runs only with HEDERA_OPERATOR_ID,
// HEDERA_OPERATOR_KEY and HEDERA_NETWORK set, and is skipped with its reason otherwise.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import * as sdk from '@hashgraph/sdk';
import { startMirrorNode, type FakeMirrorNode } from '../../testkit/mirror-node.ts';
import { uniqueSymbol } from '../../testkit/shared-redis.ts';
import { tally } from '../cli/tally.ts';
import { createMirrorReader } from '../../src/snapshots/mirror/client.ts';
import { lookupTransaction } from '../../src/airdrops/hedera/mirror.ts';
import { buildPlan, parsePrivateKey, verifyPlan, type HederaAirdropPlan, type PlanTransaction } from '../../src/airdrops/hedera/plan.ts';
import { readPlanFile, writePlanFile } from '../../src/airdrops/hedera/plan-file.ts';
import { submitPlan } from '../../src/airdrops/hedera/submit.ts';
import { networkSender } from '../../src/airdrops/hedera/submit.ts';

const snapshotToken = '0.0.92001';
const airdropToken = '0.0.92002';
const sender = '0.0.92200';
const holders = Array.from({ length: 40 }, (_, i) => ({ account: `0.0.${93000 + i}`, balance: BigInt(1 + i * 7) }));

function nowStart(offsetMs = -10_000): string {
  return `${Math.floor((Date.now() + offsetMs) / 1000)}.000000000`;
}

describe('tally airdrop hedera: plan file, bad input, --submit reruns (local mirror node)', function () {
  this.timeout(240_000);
  let node: FakeMirrorNode;
  let dir: string;
  let env: Record<string, string>;
  let snapshotId: string;
  const key = sdk.PrivateKey.generateED25519();
  const args = (out: string, extra: string[] = []) => ['airdrop', 'hedera', '--snapshot', snapshotId, '--token', airdropToken, '--sender', sender, '--out', out, ...extra];
  const plan = (name: string) => join(dir, name);
  const succeed = (entry: PlanTransaction, result = 'SUCCESS') => node.recordTransaction({
    transactionId: entry.mirrorTransactionId, result, consensusTimestamp: `${entry.validStart.split('.')[0]}.000000042`,
    tokenTransfers: [...entry.legs.map((l) => ({ tokenId: airdropToken, account: l.account, amount: BigInt(l.amount) })), { tokenId: airdropToken, account: sender, amount: -BigInt(entry.debit) }],
  });

  before(async () => {
    node = await startMirrorNode({ tokens: [
      { tokenId: snapshotToken, name: 'Votes', symbol: 'VOTE', decimals: 0, totalSupply: 10n ** 9n, treasury: '0.0.92100', holders: [...holders, { account: '0.0.92100', balance: 10n ** 8n }] },
      { tokenId: airdropToken, name: 'Reward', symbol: 'RWD', decimals: 3, totalSupply: 10n ** 12n, treasury: sender, holders: [{ account: sender, balance: 10n ** 12n }] },
    ] });
    dir = mkdtempSync(join(tmpdir(), 'tally-hedera-airdrop-'));
    env = { MIRROR_NODE_URL: node.url, HEDERA_NETWORK: 'testnet', MIRROR_RPS: 'off', DATA_DIR: join(dir, 'data'), TALLY_NAMESPACE: uniqueSymbol().toLowerCase().replaceAll('_', '-') };
    const snap = await tally(['snapshot', snapshotToken], env);
    expect(snap.code, snap.stderr).to.equal(0);
    snapshotId = JSON.parse(snap.stdout).snapshotId;
  });
  after(async () => { await node?.close(); if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('writes a signed plan that decodes to its legs, and resumes (never rebuilds) an existing one', async () => {
    const out = plan('signed.json');
    const run = await tally(args(out, ['--pro-rata', '1.5', '--human', '--exclude', 'treasury', '--valid-start', nowStart(), '--operator-key', key.toStringDer()]), env);
    expect(run.code, run.stderr).to.equal(0);
    const printed = JSON.parse(run.stdout);
    // 0.0.93000 holds 1 of 5,500: its share of 1,500 rounds to 0, so it gets no leg.
    expect(printed).to.include({ out, tokenId: airdropToken, sender, snapshotId, legs: 39, total: '1500', transactions: 5, executed: 0 });
    expect(printed.signers).to.deep.equal([key.publicKey.toStringDer()]);
    const written = readPlanFile(out);
    expect(verifyPlan(sdk, written)).to.have.length(5);
    expect(written.rule).to.deep.equal({ rule: 'proRata', total: '1500' });
    // Another rule into the same file: refused, the file unchanged.
    const before = readFileSync(out, 'utf8');
    const other = await tally(args(out, ['--fixed', '1']), env);
    expect(other.code).to.equal(1);
    expect(other.stderr).to.match(/HEDERA_PLAN_MISMATCH: .*another airdrop/);
    expect(readFileSync(out, 'utf8')).to.equal(before);
    // The same airdrop again: the same plan, a second signature added.
    const second = sdk.PrivateKey.generateECDSA();
    const again = await tally(args(out, ['--pro-rata', '1500', '--operator-key', second.toStringDer()]), env);
    expect(again.code, again.stderr).to.equal(0);
    const resumed = readPlanFile(out);
    expect(resumed.transactions.map((t) => t.transactionId)).to.deep.equal(written.transactions.map((t) => t.transactionId));
    expect(resumed.transactions[0]!.signers).to.deep.equal([key.publicKey.toStringDer(), second.publicKey.toStringDer()]);
    expect(verifyPlan(sdk, resumed)).to.have.length(5);
  });

  it('refuses bad input with a clear error and writes no plan file', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['--snapshot', '01890000-0000-7000-8000-000000000000', '--fixed', '1'], 1, /SNAPSHOT_NOT_FOUND/],
      [['--fixed', '9223372036854775808'], 1, /HEDERA_AMOUNT_OUT_OF_RANGE: .*int64/],
      [['--fixed', '0'], 1, /AIRDROP_PAYS_NOTHING/],
      [['--pro-rata', '5', '--min-balance', '1000000000000'], 1, /AIRDROP_PAYS_NOTHING/],
      [['--token', '0.0.92002-abcde', '--fixed', '1'], 1, /INVALID_CHECKSUM/],
      [['--sender', '0.0.x', '--fixed', '1'], 1, /INVALID_ENTITY_ID/],
      [['--fixed', '1', '--pro-rata', '2'], 2, /exactly one of --fixed/],
      [['--fixed', '1', '--operator-key', 'not-a-key'], 1, /INVALID_ARGUMENT: the private key/],
      [['--fixed', '1', '--valid-start', 'tomorrow'], 2, /--valid-start/],
    ];
    for (const [i, [extra, code, message]] of cases.entries()) {
      const out = plan(`bad-${i}.json`);
      const base = args(out);
      // Later options win in commander: an override replaces the default value.
      const run = await tally([...base, ...extra], env);
      expect(run.code, `${extra.join(' ')}: ${run.stderr}`).to.equal(code);
      expect(run.stderr, extra.join(' ')).to.match(message);
      expect(existsSync(out), `${extra.join(' ')} wrote a plan`).to.equal(false);
    }
    const missingDir = await tally(args(join(dir, 'no-such-dir', 'p.json'), ['--fixed', '1']), env);
    expect(missingDir.stderr).to.match(/folder does not exist/);
  });

  it('--submit skips every transaction the mirror node shows executed, and stops where one failed', async () => {
    const out = plan('rerun.json');
    const built = await tally(args(out, ['--fixed', '5', '--valid-start', nowStart(), '--spacing-ms', '10', '--operator-key', key.toStringDer()]), env);
    expect(built.code, built.stderr).to.equal(0);
    const planned = readPlanFile(out);
    expect(planned.transactions).to.have.length(5);
    // An earlier run executed transactions 1 and 3; 2 is not on the mirror node: it needs sending, which needs an operator.
    succeed(planned.transactions[0]!);
    succeed(planned.transactions[2]!);
    const partial = await tally([...args(out, ['--fixed', '5']), '--submit'], env);
    expect(partial.code, partial.stderr).to.equal(2);
    expect(partial.stderr).to.match(/--submit needs HEDERA_OPERATOR_ID and HEDERA_OPERATOR_KEY/);
    const afterPartial = readPlanFile(out);
    expect(afterPartial.transactions.map((t) => t.status)).to.deep.equal(['executed', 'planned', 'planned', 'planned', 'planned']);
    expect(afterPartial.transactions[0]!.receipt).to.include({ status: 'SUCCESS', source: 'mirror', consensusTimestamp: `${planned.transactions[0]!.validStart.split('.')[0]}.000000042` });
    // Everything executed meanwhile: the rerun sends nothing and needs no operator.
    for (const entry of planned.transactions) succeed(entry);
    node.resetStats();
    const rerun = await tally([...args(out, ['--fixed', '5']), '--submit'], env);
    expect(rerun.code, rerun.stderr).to.equal(0);
    expect(JSON.parse(rerun.stdout)).to.include({ submitted: 0, alreadyExecuted: 5, executed: 5 });
    expect(node.stats.byPath['/api/v1/transactions/{id}']).to.equal(4); // the first was already recorded executed
    expect(readPlanFile(out).transactions.every((t) => t.status === 'executed' && t.receipt?.status === 'SUCCESS')).to.equal(true);
    // A transaction that reached consensus as a failure stops the run, and stays recorded.
    const failing = plan('failing.json');
    expect((await tally(args(failing, ['--fixed', '7', '--valid-start', nowStart(), '--spacing-ms', '10']), env)).code).to.equal(0);
    const failingPlan = readPlanFile(failing);
    succeed(failingPlan.transactions[0]!);
    succeed(failingPlan.transactions[1]!, 'INSUFFICIENT_TOKEN_BALANCE');
    for (let run = 0; run < 2; run++) {
      const failed = await tally([...args(failing, ['--fixed', '7']), '--submit'], env);
      expect(failed.code).to.equal(1);
      expect(failed.stderr).to.match(/HEDERA_TRANSACTION_FAILED: transaction 2 .*INSUFFICIENT_TOKEN_BALANCE/);
    }
    expect(readPlanFile(failing).transactions.map((t) => t.status)).to.deep.equal(['executed', 'failed', 'planned', 'planned', 'planned']);
  });

  it('the mirror node lookup reads /transactions/{id} as the real API answers it', async () => {
    const reader = createMirrorReader({ baseUrl: node.url, rps: 0, requestTimeoutMs: 5_000, maxAttempts: 1, network: 'testnet' });
    try {
      node.recordTransaction({ transactionId: '0.0.300-1565779555-711927000', result: 'SUCCESS', consensusTimestamp: '1565779555.711927001' });
      expect(await lookupTransaction(reader, '0.0.300-1565779555-711927000')).to.deep.equal({ transactionId: '0.0.300-1565779555-711927000', result: 'SUCCESS', consensusTimestamp: '1565779555.711927001' });
      expect(await lookupTransaction(reader, '0.1.10-1234567891-000000000')).to.equal(null);
      const raw = await fetch(`${node.url}/api/v1/transactions/0.0.300-1565779555-711927000`).then((r) => r.json()) as { transactions: Array<Record<string, unknown>> };
      expect(raw.transactions[0]).to.include({ transaction_id: '0.0.300-1565779555-711927000', valid_start_timestamp: '1565779555.711927000', nonce: 0, scheduled: false, result: 'SUCCESS' });
      expect((await fetch(`${node.url}/api/v1/transactions/0.0.300-1565779555-711927000?nonce=1`)).status).to.equal(404);
      expect((await fetch(`${node.url}/api/v1/transactions/0.0.300@1565779555.711927000x`)).status).to.equal(400);
      const bad = await lookupTransaction(reader, '0.0.300@1565779555.711927000').then(() => null, (e: Error & { code?: string }) => e);
      expect(bad?.code).to.equal('INVALID_ARGUMENT');
    } finally {
      await reader.close();
    }
  });

  it('a run that dies after some sends, rerun, sends every transaction exactly once (the network replaced by a recorder that the mirror node then reports)', async () => {
    const entries: HederaAirdropPlan = await buildPlan(sdk, {
      network: 'testnet', tokenId: airdropToken, decimals: 3, sender, payer: sender, rule: { rule: 'fixed', amount: '2' }, filters: {},
      snapshot: { snapshotId, cid: 'bafy-test', tokenId: snapshotToken, consensusTimestamp: '1.000000000' },
      legs: holders.map((h) => ({ account: h.account, amount: 2n })), nodeAccountIds: ['0.0.3'], validStart: nowStart(-5_000), validStartSpacingMs: 1, maxFeeTinybar: 10n ** 8n,
    });
    const out = plan('recorded.json');
    writePlanFile(out, entries);
    const reader = createMirrorReader({ baseUrl: node.url, rps: 0, requestTimeoutMs: 5_000, maxAttempts: 1, network: 'testnet' });
    const sent: string[] = [];
    let crashAfter = 2;
    const deps = {
      lookup: (id: string) => lookupTransaction(reader, id),
      save: (p: HederaAirdropPlan) => writePlanFile(out, p),
      async send(entry: PlanTransaction) {
        if (crashAfter-- === 0) throw new Error('killed');
        sent.push(entry.transactionId);
        succeed(entry);
        return { status: 'SUCCESS', consensusTimestamp: null };
      },
    };
    try {
      expect(await submitPlan(readPlanFile(out), deps).then(() => 'done', (e: Error) => e.message)).to.equal('killed');
      expect(readPlanFile(out).transactions.map((t) => t.status)).to.deep.equal(['executed', 'executed', 'submitted', 'planned', 'planned']);
      crashAfter = Infinity;
      const summary = await submitPlan(readPlanFile(out), deps);
      expect(summary).to.deep.equal({ submitted: 3, alreadyExecuted: 2 });
      expect(sent).to.deep.equal(entries.transactions.map((t) => t.transactionId));
      expect(await submitPlan(readPlanFile(out), deps)).to.deep.equal({ submitted: 0, alreadyExecuted: 5 });
      expect(sent).to.have.length(5);
    } finally {
      await reader.close();
    }
  });

  it('a DUPLICATE answer is settled from the mirror node; a window that passed unsent is recorded expired; a future start is not waited for', async () => {
    const reader = createMirrorReader({ baseUrl: node.url, rps: 0, requestTimeoutMs: 5_000, maxAttempts: 1, network: 'testnet' });
    const make = (validStart: string) => buildPlan(sdk, {
      network: 'testnet', tokenId: airdropToken, decimals: 3, sender, payer: sender, rule: { rule: 'fixed', amount: '1' }, filters: {},
      snapshot: { snapshotId, cid: 'bafy-test', tokenId: snapshotToken, consensusTimestamp: '1.000000000' },
      legs: holders.slice(0, 12).map((h) => ({ account: h.account, amount: 1n })), nodeAccountIds: ['0.0.3'], validStart, validStartSpacingMs: 7, maxFeeTinybar: 10n ** 8n,
    });
    const sent: string[] = [];
    const deps = (answer: (entry: PlanTransaction) => 'duplicate' | 'SUCCESS') => ({
      lookup: (id: string) => lookupTransaction(reader, id), save: () => {}, mirrorLagMs: 300, pollMs: 20,
      async send(entry: PlanTransaction) { sent.push(entry.transactionId); const a = answer(entry); succeed(entry); return a === 'duplicate' ? 'duplicate' as const : { status: a, consensusTimestamp: null }; },
    });
    try {
      // The first copy is refused as a duplicate (an earlier run's copy is in flight): its outcome comes from the mirror node.
      const duplicated = await make(nowStart(-3_000));
      expect(await submitPlan(duplicated, deps((e) => (e.index === 0 ? 'duplicate' : 'SUCCESS')))).to.deep.equal({ submitted: 1, alreadyExecuted: 1 });
      expect(duplicated.transactions.map((t) => t.receipt?.source)).to.deep.equal(['mirror', 'network']);
      // Valid until 180 s after its start, 200 s ago, never on the mirror node: expired, nothing sent, and a rerun refuses too.
      const stale = await make(nowStart(-200_000));
      sent.length = 0;
      for (let run = 0; run < 2; run++) {
        const error = await submitPlan(stale, deps(() => 'SUCCESS')).then(() => null, (e: Error & { code?: string }) => e);
        expect(error?.code).to.equal('HEDERA_TRANSACTION_FAILED');
        expect(error?.message).to.match(/transaction 1 .*(did not execute|recorded expired)/);
      }
      expect(stale.transactions.map((t) => t.status)).to.deep.equal(['expired', 'planned']);
      // Starting in an hour: refused now (NOT_READY), nothing marked or sent.
      const later = await make(nowStart(3_600_000));
      const notYet = await submitPlan(later, deps(() => 'SUCCESS')).then(() => null, (e: Error & { code?: string }) => e);
      expect(notYet?.code).to.equal('NOT_READY');
      expect(later.transactions.every((t) => t.status === 'planned')).to.equal(true);
      expect(sent).to.deep.equal([]);
    } finally {
      await reader.close();
    }
  });

  it('submits a plan on a real network (needs HEDERA_OPERATOR_ID, HEDERA_OPERATOR_KEY, HEDERA_NETWORK)', async function () {
    const { HEDERA_OPERATOR_ID: operatorId, HEDERA_OPERATOR_KEY: operatorKey, HEDERA_NETWORK: network } = process.env;
    if (!operatorId || !operatorKey || !network) {
      console.log('      skipped: submitting needs a reachable Hedera network and an account that pays; set HEDERA_OPERATOR_ID, HEDERA_OPERATOR_KEY and HEDERA_NETWORK (testnet or previewnet)');
      this.skip();
    }
    this.timeout(600_000);
    const net = network as 'testnet' | 'previewnet' | 'mainnet';
    const operator = parsePrivateKey(sdk, operatorKey);
    const client = sdk.Client.forName(net).setOperator(operatorId, operator);
    try {
      // A token of our own (the operator is its treasury) and two fresh accounts that take any airdrop.
      const token = (await (await new sdk.TokenCreateTransaction().setTokenName('Tally airdrop test').setTokenSymbol('TAT').setDecimals(0).setInitialSupply(1000)
        .setTreasuryAccountId(operatorId).execute(client)).getReceipt(client)).tokenId!.toString();
      const accounts: string[] = [];
      for (let i = 0; i < 2; i++) {
        const receipt = await (await new sdk.AccountCreateTransaction().setKeyWithoutAlias(sdk.PrivateKey.generateED25519().publicKey).setMaxAutomaticTokenAssociations(-1).execute(client)).getReceipt(client);
        accounts.push(receipt.accountId!.toString());
      }
      const nodeIds = [...new Set(Object.values(client.network).map(String))].slice(0, 3);
      const built = await buildPlan(sdk, {
        network: net, tokenId: token, decimals: 0, sender: operatorId, payer: operatorId, rule: { rule: 'fixed', amount: '3' }, filters: {},
        snapshot: { snapshotId: 'network-test', cid: 'none', tokenId: token, consensusTimestamp: '0.000000000' },
        legs: accounts.map((account) => ({ account, amount: 3n })), nodeAccountIds: nodeIds, validStart: nowStart(-5_000), validStartSpacingMs: 1, maxFeeTinybar: 20n * 10n ** 8n,
      }, operator);
      const reader = createMirrorReader({ baseUrl: `https://${net}.mirrornode.hedera.com`, rps: 5, requestTimeoutMs: 10_000, maxAttempts: 3, network: net });
      const sender = networkSender(sdk, { network: net, operatorId, operatorKey: operator, requestTimeoutMs: 30_000 });
      try {
        const deps = { lookup: (id: string) => lookupTransaction(reader, id), save: () => {}, send: sender.send };
        expect(await submitPlan(built, deps)).to.deep.equal({ submitted: 1, alreadyExecuted: 0 });
        built.transactions[0]!.status = 'planned'; // as if the receipt had been lost: the rerun must find it on the mirror node
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline && (await lookupTransaction(reader, built.transactions[0]!.mirrorTransactionId)) === null) await new Promise((r) => setTimeout(r, 2_000));
        expect(await submitPlan(built, deps)).to.deep.equal({ submitted: 0, alreadyExecuted: 1 });
      } finally {
        sender.close();
        await reader.close();
      }
    } finally {
      client.close();
    }
  });
});
