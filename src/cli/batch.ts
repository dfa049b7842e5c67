// `tally batch`: several transfers in one atomic ledger_transfer_batch (all legs or none, in
// order), the legs read from a file or stdin as CSV (`from,to,amount`, an optional header) or
// NDJSON (`{"from","to","amount"}` a line). Bounded like the function: 1..1000 legs.
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import type { TransferLeg } from '../ledger/functions.ts';
import { UsageError, type CliContext } from './context.ts';
import { decimalsOf, json, toBaseUnits } from './ledger.ts';

const batchLegsMax = 1_000; // BATCH_LEGS_MAX in redis-functions/ledger/_lib.lua
// 1000 legs of two 128-character accounts and a 115-character human amount, with room to spare.
export const batchInputBytesMax = 1_048_576;

type Format = 'csv' | 'ndjson';
interface BatchOptions { format?: string; opId?: string; human?: boolean }

async function readBounded(file: string | undefined): Promise<string> {
  if (file !== undefined && file !== '-') {
    const size = await stat(file).then((s) => s.size, (error: Error) => { throw new UsageError(`cannot read ${file}: ${error.message}`); });
    if (size > batchInputBytesMax) throw new UsageError(`${file} is ${size} bytes; a batch file holds at most ${batchInputBytesMax}`);
    return readFile(file, 'utf8');
  }
  if (process.stdin.isTTY) throw new UsageError('give a file of legs, or pipe them on stdin (tally batch SYM - < legs.csv)');
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > batchInputBytesMax) throw new UsageError(`stdin holds more than ${batchInputBytesMax} bytes; a batch holds at most ${batchInputBytesMax}`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function formatOf(file: string | undefined, option: string | undefined, text: string): Format {
  if (option !== undefined) {
    if (option !== 'csv' && option !== 'ndjson') throw new UsageError(`--format must be csv or ndjson, not "${option}"`);
    return option;
  }
  if (file && /\.csv$/i.test(file)) return 'csv';
  if (file && /\.(nd)?jsonl?$/i.test(file)) return 'ndjson';
  return text.trimStart().startsWith('{') ? 'ndjson' : 'csv';
}

function parseCsvLine(line: string, where: string): TransferLeg {
  const fields = line.split(',').map((field) => field.trim());
  if (fields.length !== 3) throw new UsageError(`${where}: expected from,to,amount, got ${fields.length} field(s)`);
  const [from, to, amount] = fields as [string, string, string];
  return { from, to, amount };
}

function parseNdjsonLine(line: string, where: string): TransferLeg {
  let value: unknown;
  try { value = JSON.parse(line); } catch { throw new UsageError(`${where}: not JSON`); }
  const leg = value as Record<string, unknown> | null;
  if (!leg || typeof leg !== 'object' || Array.isArray(leg)) throw new UsageError(`${where}: expected {"from","to","amount"}`);
  for (const field of ['from', 'to', 'amount']) {
    if (typeof leg[field] !== 'string') throw new UsageError(`${where}: "${field}" must be a string (amounts too, so that they stay exact)`);
  }
  return { from: leg.from as string, to: leg.to as string, amount: leg.amount as string };
}

/** The legs of a batch file; blank lines and lines starting with # are skipped. */
export function parseLegs(text: string, format: Format): TransferLeg[] {
  const legs: TransferLeg[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (format === 'csv' && legs.length === 0 && /^from\s*,\s*to\s*,\s*amount$/i.test(line)) continue;
    if (legs.length === batchLegsMax) throw new UsageError(`a batch holds at most ${batchLegsMax} legs`);
    const where = `line ${index + 1}`;
    legs.push(format === 'csv' ? parseCsvLine(line, where) : parseNdjsonLine(line, where));
  }
  if (legs.length === 0) throw new UsageError('no legs: the input holds no from,to,amount line');
  return legs;
}

export function registerBatchCommand(program: Command, context: CliContext): void {
  program.command('batch')
    .description(`several transfers at once, atomically and in order (1..${batchLegsMax} legs); prints {"eventId","legs"}`)
    .argument('<SYM>', 'token symbol')
    .argument('[file]', 'the legs: CSV from,to,amount or NDJSON {"from","to","amount"}; - or none for stdin')
    .option('--format <format>', 'csv or ndjson (default: from the file name, else from the content)')
    .option('--op-id <opId>', 'idempotency id: a repeat returns the first result and moves nothing')
    .option('--human', 'amounts in tokens, using the token decimals')
    .action(async (symbol: string, file: string | undefined, options: BatchOptions) => {
      const text = await readBounded(file);
      const legs = parseLegs(text, formatOf(file, options.format, text));
      const receipt = await context.withLedger(async (ledger) => {
        const decimals = options.human ? await decimalsOf(ledger, symbol) : 0;
        const base = options.human ? legs.map((leg) => ({ ...leg, amount: toBaseUnits(leg.amount, decimals) })) : legs;
        return ledger.transferBatch(symbol, { legs: base, ...(options.opId ? { opId: options.opId } : {}) });
      });
      context.print(json(receipt));
    });
}
