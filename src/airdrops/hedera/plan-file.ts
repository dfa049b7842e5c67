// The plan file on disk (docs/hedera-airdrops.md, The plan file): JSON, written whole to a
// temporary file beside it, fsynced and renamed over it, so that a crash leaves the old plan or
// the new one, never half of one; `--submit` rewrites it after every receipt. Reading checks the
// size and the shape before anything trusts it; verifyPlan (plan.ts) then checks the bytes.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TallyError } from '../../errors.ts';
import { planFileBytesMax } from './limits.ts';
import { PlanMismatchError, planFormat, type HederaAirdropPlan } from './plan.ts';

export function writePlanFile(path: string, plan: HederaAirdropPlan): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(plan, null, 1)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

export function planFileExists(path: string): boolean {
  return existsSync(path);
}

export function readPlanFile(path: string): HederaAirdropPlan {
  const size = statSync(path).size;
  if (size > planFileBytesMax) throw new PlanMismatchError(`${path} is ${size} bytes, larger than any plan (${planFileBytesMax})`);
  let plan: unknown;
  try { plan = JSON.parse(readFileSync(path, 'utf8')); } catch { throw new PlanMismatchError(`${path} is not JSON`); }
  const p = plan as HederaAirdropPlan;
  if (p === null || typeof p !== 'object' || p.format !== planFormat) throw new PlanMismatchError(`${path} is not a ${planFormat} plan file`);
  const strings = [p.network, p.tokenId, p.sender, p.payer, p.total, p.validStart, p.maxFeeTinybar, p.snapshot?.cid, p.snapshot?.snapshotId];
  if (strings.some((s) => typeof s !== 'string') || !Array.isArray(p.transactions) || !Array.isArray(p.nodeAccountIds) || typeof p.decimals !== 'number') {
    throw new PlanMismatchError(`${path} lacks fields a plan has`);
  }
  for (const [i, t] of p.transactions.entries()) {
    if (t === null || typeof t !== 'object' || typeof t.bytes !== 'string' || typeof t.transactionId !== 'string' || typeof t.mirrorTransactionId !== 'string'
      || !Array.isArray(t.legs) || !Array.isArray(t.signers) || typeof t.debit !== 'string' || typeof t.status !== 'string') {
      throw new PlanMismatchError(`${path}: transaction ${i + 1} lacks fields a plan transaction has`);
    }
  }
  return p;
}

/** What makes two plans the same airdrop: everything but the bytes, signatures and progress. */
export function sameAirdrop(a: HederaAirdropPlan, b: HederaAirdropPlan): boolean {
  const key = (p: HederaAirdropPlan) => JSON.stringify([p.network, p.tokenId, p.decimals, p.sender, p.payer, p.rule, p.filters, p.snapshot.cid, p.legCount, p.total,
    p.nodeAccountIds, p.validStart, p.validStartSpacingMs, p.maxFeeTinybar, p.transactions.map((t) => [t.transactionId, t.legs])]);
  return key(a) === key(b);
}

/** Refuses a path whose folder does not exist, or one that is a folder. */
export function checkPlanPath(path: string): void {
  if (typeof path !== 'string' || path.length === 0 || path.length > 4096 || path.includes('\0')) throw new TallyError('INVALID_ARGUMENT', '--out must be a file path');
  if (!existsSync(dirname(path)) || !statSync(dirname(path)).isDirectory()) throw new TallyError('INVALID_ARGUMENT', `--out ${path}: its folder does not exist`);
  if (existsSync(path) && !statSync(path).isFile()) throw new TallyError('INVALID_ARGUMENT', `--out ${path} is not a file`);
}
