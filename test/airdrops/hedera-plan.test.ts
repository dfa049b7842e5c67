// The Hedera airdrop plan built from a real snapshot (the pipeline against the local mirror node,
// into the Redis store and Helia), without a network: every transaction decoded back with
// Transaction.fromBytes and checked leg by leg against an independent BigInt model of the rule,
// within HIP-904's limits, with distinct deterministic ids; every signature verified with
// node:crypto over the body bytes; a plan altered in any way refused before it could be sent.
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { expect } from 'chai';
import * as sdk from '@hashgraph/sdk';
import { generateHolders, type FakeHolder } from '../../testkit/mirror-node.ts';
import { createMirrorReader, type MirrorReader } from '../../src/snapshots/mirror/client.ts';
import { runSnapshot } from '../../src/snapshots/pipeline.ts';
import { prepareHederaAirdrop, toBaseUnits, type HederaAirdropRequest } from '../../src/airdrops/hedera/prepare.ts';
import { verifyPlan, signPlan, type HederaAirdropPlan } from '../../src/airdrops/hedera/plan.ts';
import { accountAmountsPerTransactionMax, bodyBytesMax, int64Max, legsPerTransactionMax } from '../../src/airdrops/hedera/limits.ts';
import { startPipelineRig, type PipelineRig } from '../snapshots/pipeline-rig.ts';

const snapshotToken = '0.0.91001';
const airdropToken = '0.0.91002';
const feeToken = '0.0.91003';
const nftToken = '0.0.91004';
const pausedToken = '0.0.91005';
const snapshotTreasury = '0.0.91100';
const sender = '0.0.91200';
const start = '1790000000.000000000';
const nodes = ['0.0.3', '0.0.4', '0.0.5'];

/** floor(total * b / B), then one unit each to the largest remainders, ties by account order (the snapshot's order). */
function proRataModel(holders: FakeHolder[], total: bigint): Map<string, bigint> {
  const supply = holders.reduce((s, h) => s + h.balance, 0n);
  const shares = holders.map((h) => ({ account: h.account, share: (total * h.balance) / supply, rest: (total * h.balance) % supply }));
  let left = total - shares.reduce((s, x) => s + x.share, 0n);
  for (const x of [...shares].sort((a, b) => (a.rest === b.rest ? 0 : a.rest > b.rest ? -1 : 1))) {
    if (left === 0n) break;
    x.share += 1n;
    left -= 1n;
  }
  return new Map(shares.filter((x) => x.share > 0n).map((x) => [x.account, x.share]));
}

function byAccount(a: string, b: string): number {
  const [x, y] = [a.split('.').map(BigInt), b.split('.').map(BigInt)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return 0;
}

/** Raw 32-byte ED25519 public key as a node:crypto key (SPKI DER prefix). */
function ed25519Key(raw: Uint8Array) {
  return createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(raw)]), format: 'der', type: 'spki' });
}

describe('Hedera airdrop plan (no network)', function () {
  this.timeout(180_000);
  const holders = generateHolders({ count: 300, seed: 16 }).map((h) => ({ account: h.account, balance: h.balance % 10n ** 12n + 1n }));
  const snapshotHolders = [...holders, { account: snapshotTreasury, balance: 10n ** 15n }, { account: sender, balance: 5n }];
  let rig: PipelineRig;
  let reader: MirrorReader;
  let snapshotId: string;

  const request = (overrides: Partial<HederaAirdropRequest> = {}): HederaAirdropRequest => ({
    network: 'testnet', snapshotId, tokenId: airdropToken, sender, rule: { rule: 'proRata', total: '1000000007' },
    exclude: ['treasury'], nodeAccountIds: nodes, validStart: start, ...overrides,
  });
  const prepare = (overrides: Partial<HederaAirdropRequest> = {}) => prepareHederaAirdrop({ sdk, store: rig.store, ipfs: rig.ipfs, mirror: reader }, request(overrides));

  before(async () => {
    rig = await startPipelineRig({ tokens: [
      { tokenId: snapshotToken, name: 'Votes', symbol: 'VOTE', decimals: 0, totalSupply: snapshotHolders.reduce((s, h) => s + h.balance, 0n), treasury: snapshotTreasury, holders: snapshotHolders },
      { tokenId: airdropToken, name: 'Reward', symbol: 'RWD', decimals: 2, totalSupply: int64Max, treasury: sender, holders: [{ account: sender, balance: int64Max }] },
      { tokenId: feeToken, name: 'Fees', symbol: 'FEE', decimals: 0, totalSupply: 10n ** 12n, treasury: '0.0.91300', customFees: { fractional: 1 }, holders: [{ account: sender, balance: 10n ** 12n }] },
      { tokenId: nftToken, name: 'Art', symbol: 'ART', decimals: 0, totalSupply: 1n, type: 'NON_FUNGIBLE_UNIQUE', treasury: sender, holders: [{ account: sender, balance: 1n }] },
      { tokenId: pausedToken, name: 'Paused', symbol: 'PSD', decimals: 0, totalSupply: 10n ** 12n, treasury: sender, pauseStatus: 'PAUSED', holders: [{ account: sender, balance: 10n ** 12n }] },
    ] });
    reader = createMirrorReader({ baseUrl: rig.node.url, rps: 0, requestTimeoutMs: 5_000, maxAttempts: 2, retryBaseDelayMs: 10, network: 'testnet' });
    const record = await rig.store.create({ tokenId: snapshotToken, network: 'testnet', requestedBy: 'test' });
    snapshotId = (await runSnapshot(record.snapshotId, rig.deps())).snapshotId;
  });
  after(async () => { await reader?.close(); await rig?.close(); });

  it('pays the pro-rata legs exactly (sum = total), in transactions within the limits, with distinct deterministic ids', async () => {
    const plan = await prepare();
    // The treasury is excluded, the sender never pays itself: the model splits over the rest.
    const model = proRataModel(holders.sort((a, b) => byAccount(a.account, b.account)), 1_000_000_007n);
    expect(plan.legCount).to.equal(model.size);
    expect(plan.total).to.equal('1000000007');
    expect(plan.transactions).to.have.length(Math.ceil(model.size / legsPerTransactionMax));
    const paid = new Map<string, bigint>();
    const ids = new Set<string>();
    for (const [i, entry] of plan.transactions.entries()) {
      const tx = sdk.Transaction.fromBytes(Buffer.from(entry.bytes, 'base64'));
      expect(tx).to.be.instanceOf(sdk.TokenAirdropTransaction);
      const airdrop = tx as sdk.TokenAirdropTransaction;
      const validStart = BigInt(start.split('.')[0]!) * 1_000_000_000n + BigInt(i) * 1_000_000_000n;
      expect(airdrop.transactionId!.accountId!.toString()).to.equal(sender);
      expect(airdrop.transactionId!.validStart!.seconds.toString()).to.equal((validStart / 1_000_000_000n).toString());
      expect(airdrop.transactionId!.toString()).to.equal(entry.transactionId);
      ids.add(airdrop.transactionId!.toString());
      expect(airdrop.nodeAccountIds!.map(String)).to.deep.equal(nodes);
      expect(airdrop.transactionValidDuration).to.equal(180);
      expect(airdrop.bodySize).to.be.at.most(bodyBytesMax);
      const transfers = [...airdrop.tokenTransfers];
      expect(transfers).to.have.length(1);
      expect(String(transfers[0]![0])).to.equal(airdropToken);
      const amounts = [...transfers[0]![1]].map(([account, amount]) => [String(account), BigInt(amount.toString())] as const);
      expect(amounts.length).to.be.at.most(accountAmountsPerTransactionMax);
      let debit = 0n;
      let credits = 0n;
      for (const [account, amount] of amounts) {
        if (account === sender) { debit = -amount; continue; }
        expect(amount > 0n && amount <= int64Max, account).to.equal(true);
        expect(paid.has(account), `${account} paid twice`).to.equal(false);
        paid.set(account, amount);
        credits += amount;
      }
      expect(debit).to.equal(credits);
      expect(debit.toString()).to.equal(entry.debit);
      expect(airdrop.tokenIdDecimals.get(airdropToken)).to.equal(2);
      expect(entry.legs.map((l) => [l.account, l.amount])).to.deep.equal(amounts.filter(([a]) => a !== sender).map(([a, v]) => [a, v.toString()] as const).sort((x, y) => byAccount(x[0], y[0])));
    }
    expect(ids.size).to.equal(plan.transactions.length);
    expect([...paid.values()].reduce((s, v) => s + v, 0n)).to.equal(1_000_000_007n);
    expect(paid).to.deep.equal(model);
    expect(paid.has(snapshotTreasury) || paid.has(sender)).to.equal(false);
    // Same snapshot, rule and start: the same bytes.
    const again = await prepare();
    expect(again.transactions.map((t) => t.bytes)).to.deep.equal(plan.transactions.map((t) => t.bytes));
  });

  it('signs with a generated ED25519 and ECDSA key; every signature verifies over each node copy\'s body bytes', async () => {
    const plan = await prepare({ rule: { rule: 'fixed', amount: '250' }, minBalance: '100000' });
    const ed = sdk.PrivateKey.generateED25519();
    const ec = sdk.PrivateKey.generateECDSA();
    await signPlan(sdk, plan, ed);
    await signPlan(sdk, plan, ec);
    await signPlan(sdk, plan, ed); // a second time adds nothing
    expect(verifyPlan(sdk, plan)).to.have.length(plan.transactions.length);
    for (const entry of plan.transactions) {
      expect(entry.signers).to.deep.equal([ed.publicKey.toStringDer(), ec.publicKey.toStringDer()]);
      const tx = sdk.Transaction.fromBytes(Buffer.from(entry.bytes, 'base64'));
      expect(tx._signedTransactions.list).to.have.length(nodes.length);
      for (const signed of tx._signedTransactions.list) {
        const pairs = signed.sigMap!.sigPair!;
        expect(pairs).to.have.length(2);
        const edPair = pairs.find((p) => p.ed25519)!;
        expect(Buffer.from(edPair.pubKeyPrefix!)).to.deep.equal(Buffer.from(ed.publicKey.toBytesRaw()));
        expect(verifySignature(null, signed.bodyBytes!, ed25519Key(edPair.pubKeyPrefix!), edPair.ed25519!)).to.equal(true);
        const ecPair = pairs.find((p) => p.ECDSASecp256k1)!;
        expect(ec.publicKey.verify(signed.bodyBytes!, ecPair.ECDSASecp256k1!)).to.equal(true);
        // A signature over other bytes does not verify: the check can fail.
        expect(verifySignature(null, Buffer.concat([signed.bodyBytes!, Buffer.of(0)]), ed25519Key(edPair.pubKeyPrefix!), edPair.ed25519!)).to.equal(false);
      }
      expect(entry.legs.every((l) => l.amount === '250')).to.equal(true);
    }
  });

  it('refuses a plan whose records and bytes disagree, or whose signature is broken', async () => {
    const plan = await prepare({ rule: { rule: 'fixed', amount: '3' }, minBalance: '500000000000' });
    expect(plan.transactions.length).to.be.at.least(2);
    await signPlan(sdk, plan, sdk.PrivateKey.generateED25519());
    const altered = (change: (p: HederaAirdropPlan) => void) => { const copy = structuredClone(plan); change(copy); return copy; };
    const refusals = [
      altered((p) => { p.transactions[0]!.legs[0]!.amount = '4'; p.transactions[0]!.debit = String(BigInt(p.transactions[0]!.debit) + 1n); p.total = String(BigInt(p.total) + 1n); }),
      altered((p) => { [p.transactions[0]!.bytes, p.transactions[1]!.bytes] = [p.transactions[1]!.bytes, p.transactions[0]!.bytes]; }),
      altered((p) => { p.transactions[1]!.legs[0]!.account = '0.0.999999'; }),
      altered((p) => { p.total = '1'; }),
      altered((p) => { p.sender = '0.0.91201'; }),
      altered((p) => { p.transactions[0]!.signers = []; }),
      altered((p) => {
        const bytes = Buffer.from(p.transactions[0]!.bytes, 'base64');
        bytes[bytes.length - 3]! ^= 0xff; // inside the last signature
        p.transactions[0]!.bytes = bytes.toString('base64');
      }),
    ];
    for (const [i, bad] of refusals.entries()) {
      expect(() => verifyPlan(sdk, bad), `alteration ${i}`).to.throw().with.property('code', 'HEDERA_PLAN_MISMATCH');
    }
    expect(() => verifyPlan(sdk, plan)).to.not.throw();
  });

  it('refuses bad input with a clear code and builds nothing', async () => {
    const cases: Array<[Partial<HederaAirdropRequest>, string, RegExp]> = [
      [{ snapshotId: '01890000-0000-7000-8000-000000000000' }, 'SNAPSHOT_NOT_FOUND', /snapshot/],
      [{ rule: { rule: 'fixed', amount: '0' } }, 'AIRDROP_PAYS_NOTHING', /pays no one/],
      [{ rule: { rule: 'proRata', total: '0' } }, 'AIRDROP_PAYS_NOTHING', /pays no one/],
      [{ minBalance: '10000000000000000' }, 'AIRDROP_PAYS_NOTHING', /no holders left/],
      [{ rule: { rule: 'fixed', amount: (int64Max + 1n).toString() } }, 'HEDERA_AMOUNT_OUT_OF_RANGE', /int64/],
      [{ rule: { rule: 'fixed', amount: (2n ** 62n).toString() } }, 'HEDERA_AMOUNT_OUT_OF_RANGE', /debit the sender/],
      [{ rule: { rule: 'fixed', amount: '1.5' } }, 'INVALID_AMOUNT', /base-unit integer/],
      [{ rule: { rule: 'fixed', amount: '1.005' }, human: true }, 'HEDERA_AMOUNT_OUT_OF_RANGE', /decimal places/],
      [{ tokenId: '0.0.abc' }, 'INVALID_ENTITY_ID', /invalid Hedera id/],
      [{ sender: `${sender}-aaaaa` }, 'INVALID_CHECKSUM', /not valid on testnet/],
      [{ tokenId: '0.0.91002-vfmkw' }, 'INVALID_CHECKSUM', /not valid on testnet/],
      [{ tokenId: '0.0.91999' }, 'HEDERA_TOKEN_NOT_FOUND', /not found/],
      [{ tokenId: nftToken }, 'HEDERA_TOKEN_UNSUITABLE', /NON_FUNGIBLE_UNIQUE/],
      [{ tokenId: pausedToken }, 'HEDERA_TOKEN_UNSUITABLE', /paused/],
      [{ tokenId: feeToken }, 'HEDERA_SENDER_NOT_TREASURY', /custom fee/],
      [{ tokenId: feeToken, sender: '0.0.91300', rule: { rule: 'fixed', amount: '1' } }, 'HEDERA_SENDER_SHORT', /holds 0/],
      [{ network: 'mainnet' }, 'INVALID_ARGUMENT', /holds testnet accounts/],
    ];
    for (const [overrides, code, message] of cases) {
      const error = await prepare(overrides).then(() => null, (e: Error & { code?: string }) => e);
      expect(error, JSON.stringify(overrides)).to.not.equal(null);
      expect(error!.code, `${JSON.stringify(overrides)}: ${error!.message}`).to.equal(code);
      expect(error!.message).to.match(message);
    }
    const queued = await rig.store.create({ tokenId: snapshotToken, network: 'testnet', requestedBy: 'test' });
    const notDone = await prepare({ snapshotId: queued.snapshotId }).then(() => null, (e: Error & { code?: string }) => e);
    expect(notDone?.code).to.equal('NOT_READY');
  });

  it('converts human amounts exactly with the token\'s decimals', () => {
    expect(toBaseUnits('1.5', 2)).to.equal('150');
    expect(toBaseUnits('92233720368547758.07', 2)).to.equal(int64Max.toString());
    expect(toBaseUnits('7', 0)).to.equal('7');
    expect(toBaseUnits('1.50', 1)).to.equal('15');
    expect(() => toBaseUnits('0.001', 2)).to.throw().with.property('code', 'HEDERA_AMOUNT_OUT_OF_RANGE');
  });
});
