// `tally audit SYM`: the ledger's invariant checker (src/ledger/audit.ts) from a terminal. Prints
// one JSON line {symbol, ok, holders, logEntries, violationCount} on stdout and each violation on
// stderr; exits 0 only when every invariant holds (1 otherwise). A progress bar on a terminal.
// A trimmed log is replayed from its archives (the configured store, DATA_DIR/ipfs).
// `tally verify-log SYM`: the archive chain from init to the head, then the same replay (log-archive.ts).
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { AuditReport } from '../ledger/audit.ts';
import type { CliContext } from './context.ts';
import { withLogArchives } from './history.ts';

/** Exit 1 with the report already printed. */
export class AuditFailedError extends Error {
  constructor(report: Pick<AuditReport, 'symbol' | 'violationCount'>, what = 'audit') {
    super(`${what} of ${report.symbol} found ${report.violationCount} violation${report.violationCount === 1 ? '' : 's'}`);
    this.name = 'AuditFailedError';
  }
}

export function registerAuditCommand(program: Command, context: CliContext): void {
  program.command('audit')
    .description('check every invariant of a token: log replay = balances, supplies, rank, top, opId records; exit 0 only when all hold')
    .argument('<SYM>', 'token symbol')
    .action(async (symbol: string) => {
      const { auditToken } = await import('../ledger/audit.ts');
      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar({ stream: process.stderr, format: `audit ${symbol} [{bar}] {value}/{total} log entries, {holders} holders`, hideCursor: false }, cliProgress.Presets.shades_classic)
        : null;
      const { createLogArchive } = await import('../ledger/log-archive.ts');
      const report = await withLogArchives(context, (source) => context.withLedger(async (_ledger, redis) => {
        bar?.start(1, 0, { holders: 0 });
        try {
          return await auditToken(redis, symbol, { archive: createLogArchive(source), onProgress: ({ logEntries, logTotal, holders }) => { bar?.setTotal(Math.max(1, logTotal)); bar?.update(logEntries, { holders }); } });
        } finally {
          bar?.stop();
        }
      }));
      for (const violation of report.violations) process.stderr.write(`violation: ${violation}\n`);
      if (report.violationCount > report.violations.length) process.stderr.write(`... and ${report.violationCount - report.violations.length} more\n`);
      const { violations: _listed, ...summary } = report;
      context.print(JSON.stringify(summary));
      if (!report.ok) throw new AuditFailedError(report);
    });

  program.command('verify-log')
    .description('walk the archived log of a token from init to the head (each segment read back, hash and links checked), then the live log, and check the replay reproduces the live balances; exit 0 only when it does')
    .argument('<SYM>', 'token symbol')
    .action(async (symbol: string) => {
      const { verifyLog } = await import('../ledger/log-archive.ts');
      const report = await withLogArchives(context, (source) => context.withLedger((_ledger, redis) => verifyLog(redis, symbol, source, {
        onSegment: (done, of) => { if (process.stderr.isTTY) process.stderr.write(`\rverify-log ${symbol}: segment ${done}/${of}`); },
      })));
      if (process.stderr.isTTY && report.segments > 0) process.stderr.write('\n');
      for (const violation of report.violations) process.stderr.write(`violation: ${violation}\n`);
      if (report.violationCount > report.violations.length) process.stderr.write(`... and ${report.violationCount - report.violations.length} more\n`);
      const { violations: _listed, ...summary } = report;
      context.print(JSON.stringify(summary));
      if (!report.ok) throw new AuditFailedError(report, 'verify-log');
    });
}
