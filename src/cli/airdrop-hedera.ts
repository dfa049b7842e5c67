// `tally airdrop hedera` (docs/hedera-airdrops.md): a Hedera airdrop plan from a completed snapshot,
// written to --out for a treasury to sign offline or with multi-sig, signed with --operator-key,
// sent with --submit. An existing --out is the plan: the command then builds nothing, checks that
// the options name the same airdrop, adds the signature, and submits what has not executed yet, so
// a rerun after a crash resumes instead of paying again. @hashgraph/sdk (large) is imported only
// inside the action, never when `tally` starts.
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { TallyError } from '../errors.ts';
import type { HederaAirdropPlan, PlanTransaction, Sdk } from '../airdrops/hedera/plan.ts';
import { UsageError, type CliContext } from './context.ts';
import { openIpfs, withStore } from './snapshots.ts';

interface HederaAirdropOptions {
  snapshot: string; token: string; sender: string; out: string;
  fixed?: string; proRata?: string; human?: boolean; minBalance?: string; exclude?: string;
  payer?: string; operatorKey?: string; submit?: boolean;
  validStart?: string; spacingMs?: string; nodeIds?: string; maxFeeHbar?: string;
  network?: string; mirrorUrl?: string;
}

type AirdropCliConfig = Pick<Config, 'hedera' | 'dataDir' | 'mongodbUrl' | 'jobs' | 'hederaOperator'>;

/** The first transaction starts this long after the plan is made, unless --valid-start says when. */
const defaultStartDelayMs = 60_000;
/** Each call to a Hedera node gives up after this long (the SDK then tries the plan's next node). */
const nodeRequestTimeoutMs = 30_000;

function airdropConfig(context: CliContext, options: HederaAirdropOptions): Readonly<AirdropCliConfig> {
  return loadConfig({
    ...context.env,
    ...(options.network !== undefined ? { HEDERA_NETWORK: options.network } : {}),
    ...(options.mirrorUrl !== undefined ? { MIRROR_NODE_URL: options.mirrorUrl } : {}),
  }, ['hedera', 'dataDir', 'mongodbUrl', 'jobs', 'hederaOperator']);
}

/** `seconds.nanoseconds` from that form or an ISO 8601 time; default a minute from now, on a whole second. */
function validStartOf(text: string | undefined): string {
  if (text === undefined) return `${Math.floor((Date.now() + defaultStartDelayMs) / 1000)}.000000000`;
  const consensus = /^(\d{1,10})(?:\.(\d{1,9}))?$/.exec(text);
  if (consensus) return `${consensus[1]}.${(consensus[2] ?? '').padEnd(9, '0')}`;
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new UsageError('--valid-start must be seconds.nanoseconds or an ISO 8601 time');
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1_000_000).padStart(9, '0')}`;
}

function integerOption(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${name} must be an integer in ${min}..${max}`);
  return n;
}

function tinybarsOf(hbar: string | undefined): bigint | undefined {
  if (hbar === undefined) return undefined;
  const match = /^(0|[1-9]\d{0,9})(?:\.(\d{1,8}))?$/.exec(hbar);
  if (!match || (match[1] === '0' && !/[1-9]/.test(match[2] ?? ''))) throw new UsageError('--max-fee-hbar must be a positive number of hbar with at most 8 decimals');
  return BigInt(match[1]!) * 100_000_000n + BigInt((match[2] ?? '').padEnd(8, '0'));
}

/** The first nodes of the SDK's address book for the network, by account id. */
function defaultNodes(sdk: Sdk, network: Config['hedera']['network']): string[] {
  const client = sdk.Client.forName(network);
  try {
    const ids = [...new Set(Object.values(client.network).map(String))];
    return ids.sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2])).slice(0, 3);
  } finally {
    client.close();
  }
}

/** The mirror node with the snapshot client's settings (MIRROR_RPS, MIRROR_TIMEOUT_MS, MIRROR_ATTEMPTS, ...). */
async function mirrorReader(hedera: Config['hedera']) {
  const { createMirrorReader } = await import('../snapshots/mirror/client.ts');
  return createMirrorReader({ baseUrl: hedera.mirrorNodeUrl, rps: hedera.mirrorRps, requestTimeoutMs: hedera.mirrorTimeoutMs,
    maxAttempts: hedera.mirrorAttempts, retryBaseDelayMs: hedera.mirrorRetryBaseMs, network: hedera.network });
}

function rule(options: HederaAirdropOptions): HederaAirdropPlan['rule'] {
  if ((options.fixed === undefined) === (options.proRata === undefined)) throw new UsageError('give exactly one of --fixed AMOUNT and --pro-rata TOTAL');
  return options.fixed !== undefined ? { rule: 'fixed', amount: options.fixed } : { rule: 'proRata', total: options.proRata! };
}

function summary(out: string, plan: HederaAirdropPlan): Record<string, unknown> {
  const count = (status: PlanTransaction['status']) => plan.transactions.filter((t) => t.status === status).length;
  return {
    out, network: plan.network, tokenId: plan.tokenId, sender: plan.sender, payer: plan.payer, snapshotId: plan.snapshot.snapshotId, cid: plan.snapshot.cid,
    legs: plan.legCount, total: plan.total, transactions: plan.transactions.length, executed: count('executed'),
    signers: [...new Set(plan.transactions.flatMap((t) => t.signers))],
  };
}

async function buildNewPlan(context: CliContext, config: Readonly<AirdropCliConfig>, sdk: Sdk, options: HederaAirdropOptions): Promise<HederaAirdropPlan> {
  const { prepareHederaAirdrop } = await import('../airdrops/hedera/prepare.ts');
  const { hedera } = config;
  const mirror = await mirrorReader(hedera);
  try {
    return await withStore(context, config, async (store) => {
      const ipfs = await openIpfs(config.dataDir);
      try {
        const spacing = integerOption('--spacing-ms', options.spacingMs, 1, 3_600_000);
        const maxFee = tinybarsOf(options.maxFeeHbar);
        return await prepareHederaAirdrop({ sdk, store, ipfs, mirror }, {
          network: hedera.network, snapshotId: options.snapshot, tokenId: options.token, sender: options.sender,
          ...(options.payer !== undefined ? { payer: options.payer } : {}), rule: rule(options), human: options.human === true,
          ...(options.minBalance !== undefined ? { minBalance: options.minBalance } : {}),
          ...(options.exclude !== undefined ? { exclude: options.exclude.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
          nodeAccountIds: options.nodeIds !== undefined ? options.nodeIds.split(',').map((s) => s.trim()) : defaultNodes(sdk, hedera.network),
          validStart: validStartOf(options.validStart),
          ...(spacing !== undefined ? { validStartSpacingMs: spacing } : {}),
          ...(maxFee !== undefined ? { maxFeeTinybar: maxFee } : {}),
        });
      } finally {
        await ipfs.stop();
      }
    });
  } finally {
    await mirror.close();
  }
}

/** An existing plan file must be the airdrop the options describe; what they leave out is not compared. */
function checkSameRequest(plan: HederaAirdropPlan, options: HederaAirdropOptions, network: string): void {
  const differs: string[] = [];
  if (plan.network !== network) differs.push(`network ${plan.network}`);
  if (plan.snapshot.snapshotId !== options.snapshot) differs.push(`snapshot ${plan.snapshot.snapshotId}`);
  if (plan.tokenId !== options.token.replace(/-[a-z]{5}$/, '')) differs.push(`token ${plan.tokenId}`);
  if (plan.sender !== options.sender.replace(/-[a-z]{5}$/, '')) differs.push(`sender ${plan.sender}`);
  const wanted = rule(options);
  if (!options.human && JSON.stringify(wanted) !== JSON.stringify(plan.rule)) differs.push(`rule ${JSON.stringify(plan.rule)}`);
  if (options.validStart !== undefined && validStartOf(options.validStart) !== plan.validStart) differs.push(`valid start ${plan.validStart}`);
  if (differs.length > 0) throw new TallyError('HEDERA_PLAN_MISMATCH', `the plan in ${options.out} is another airdrop (${differs.join(', ')}); choose another --out, or rerun with its options`);
}

async function submit(config: Readonly<AirdropCliConfig>, sdk: Sdk, plan: HederaAirdropPlan, out: string) {
  const [{ submitPlan, networkSender }, { lookupTransaction }, { writePlanFile }, { parsePrivateKey }] = await Promise.all([
    import('../airdrops/hedera/submit.ts'), import('../airdrops/hedera/mirror.ts'), import('../airdrops/hedera/plan-file.ts'), import('../airdrops/hedera/plan.ts')]);
  const { hedera, hederaOperator } = config;
  if (plan.network !== hedera.network) throw new UsageError(`the plan is for ${plan.network}; HEDERA_NETWORK (or --network) is ${hedera.network}`);
  const mirror = await mirrorReader(hedera);
  let sender: ReturnType<typeof networkSender> | null = null;
  try {
    return await submitPlan(plan, {
      lookup: (id) => lookupTransaction(mirror, id),
      save: (p) => writePlanFile(out, p),
      readyToSend: () => {
        if (hederaOperator === null) throw new UsageError('--submit needs HEDERA_OPERATOR_ID and HEDERA_OPERATOR_KEY (the account that pays and signs) to send what has not executed');
      },
      send: (entry) => {
        if (hederaOperator === null) throw new UsageError('--submit needs HEDERA_OPERATOR_ID and HEDERA_OPERATOR_KEY');
        sender ??= networkSender(sdk, { network: plan.network, operatorId: hederaOperator.accountId, operatorKey: parsePrivateKey(sdk, hederaOperator.privateKey), requestTimeoutMs: nodeRequestTimeoutMs });
        return sender.send(entry);
      },
      onProgress: (entry, outcome) => process.stderr.write(`airdrop ${entry.index + 1}/${plan.transactions.length} ${entry.transactionId}: ${outcome}\n`),
    });
  } finally {
    (sender as ReturnType<typeof networkSender> | null)?.close();
    await mirror.close();
  }
}

async function runHederaAirdrop(context: CliContext, options: HederaAirdropOptions): Promise<void> {
  const config = airdropConfig(context, options);
  rule(options);
  const [{ checkPlanPath, planFileExists, readPlanFile, writePlanFile }, planModule] = await Promise.all([import('../airdrops/hedera/plan-file.ts'), import('../airdrops/hedera/plan.ts')]);
  checkPlanPath(options.out);
  const sdk: Sdk = await import('@hashgraph/sdk');
  const key = options.operatorKey !== undefined ? planModule.parsePrivateKey(sdk, options.operatorKey) : undefined;
  let plan: HederaAirdropPlan;
  if (planFileExists(options.out)) {
    plan = readPlanFile(options.out);
    checkSameRequest(plan, options, config.hedera.network);
    if (key) await planModule.signPlan(sdk, plan, key);
  } else {
    plan = await buildNewPlan(context, config, sdk, options);
    if (key) await planModule.signPlan(sdk, plan, key);
  }
  planModule.verifyPlan(sdk, plan);
  writePlanFile(options.out, plan);
  if (options.submit) {
    const result = await submit(config, sdk, plan, options.out);
    context.print(JSON.stringify({ ...summary(options.out, plan), submitted: result.submitted, alreadyExecuted: result.alreadyExecuted }));
  } else {
    context.print(JSON.stringify(summary(options.out, plan)));
  }
}

/** Adds `hedera` to the `airdrop` command. */
export function registerHederaAirdropCommand(airdrop: Command, context: CliContext): Command {
  const command = airdrop.command('hedera')
    .description('a Hedera airdrop plan from a completed snapshot: TokenAirdropTransactions within HIP-904\'s limits, frozen into --out for offline or multi-sig signing; --operator-key signs, --submit sends (docs/hedera-airdrops.md)')
    .requiredOption('--snapshot <id>', 'the snapshotId of a completed snapshot of one Hedera token (its holders are paid)')
    .requiredOption('--token <tokenId>', 'the fungible Hedera token to airdrop, e.g. 0.0.1234 (a HIP-15 checksum is checked)')
    .requiredOption('--sender <accountId>', 'the account debited (the token\'s treasury when the token has custom fees)')
    .requiredOption('--out <file>', 'the plan file; an existing one is resumed (signed, submitted), never rebuilt')
    .option('--fixed <amount>', 'the same amount to every holder, in base units')
    .option('--pro-rata <total>', 'total split by balance, largest remainders, ties by account')
    .option('--human', 'amounts in tokens (1.5), converted with the token\'s decimals')
    .option('--min-balance <n>', 'leave out holders below this balance (base units of the snapshot token)')
    .option('--exclude <accounts>', 'comma-separated accounts to leave out; treasury = the snapshot token\'s treasury')
    .option('--payer <accountId>', 'pays the fees and names the transaction ids (default: the sender)')
    .option('--operator-key <key>', 'sign every transaction with this private key: DER hex, or ed25519:<hex> / ecdsa:<hex>')
    .option('--submit', 'send the transactions one by one on HEDERA_NETWORK (operator: HEDERA_OPERATOR_ID, HEDERA_OPERATOR_KEY), skipping those the mirror node shows executed')
    .option('--valid-start <T>', 'valid start of the first transaction, seconds.nanoseconds or ISO 8601 (default: a minute from now); same inputs and start, same transaction ids')
    .option('--spacing-ms <ms>', 'distance between consecutive valid starts (default 1000)')
    .option('--node-ids <ids>', 'comma-separated node account ids (default: the first 3 of the network\'s address book)')
    .option('--max-fee-hbar <hbar>', 'the most one transaction may charge its payer (default 20)')
    .option('--network <N>', 'mainnet, testnet or previewnet (default: HEDERA_NETWORK)')
    .option('--mirror-url <URL>', 'mirror node base URL (default: MIRROR_NODE_URL, else the network\'s public one)')
    .action((options: HederaAirdropOptions) => runHederaAirdrop(context, options));
  command.exitOverride();
  return command;
}
