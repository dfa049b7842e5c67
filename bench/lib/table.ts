// The results table printed by `make bench`: one line per figure, its baseline, ratio and target.
import type { ResultRow } from './types.ts';

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function renderTable(rows: ResultRow[]): string {
  const header = ['scenario', 'figure', 'value', 'baseline', 'baseline value', 'ratio', 'target', 'met'];
  const cells = rows.map((r) => [
    r.scenario,
    r.figure,
    `${formatNumber(r.value)} ${r.unit}`,
    r.baseline,
    `${formatNumber(r.baselineValue)} ${r.unit}`,
    r.ratio.toFixed(2),
    r.target ?? '-',
    r.met === null ? '-' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)];
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.scenario} / ${r.figure}: ${r.note}`);
  if (notes.length > 0) out.push('', 'Notes:', ...notes);
  return out.join('\n');
}
