// Result rows: a figure beside its baseline, the ratio between them and whether the target holds.
import type { ResultRow, Target } from './types.ts';

/** A row before its ratio and verdict are computed. */
export type Figure = Omit<ResultRow, 'ratio' | 'target' | 'met'> & { target?: Target };

export function resultRow(figure: Figure): ResultRow {
  if (!(figure.baselineValue > 0) || !Number.isFinite(figure.value)) {
    throw new Error(`${figure.scenario} / ${figure.figure}: unusable figures ${figure.value} vs ${figure.baselineValue}`);
  }
  const ratio = figure.value / figure.baselineValue;
  const { target, note, ...rest } = figure;
  const row: ResultRow = {
    ...rest,
    ratio,
    target: target ? `ratio ${target.op} ${target.ratio}` : null,
    met: target ? (target.op === '>=' ? ratio >= target.ratio : ratio <= target.ratio) : null,
  };
  if (note !== undefined) row.note = note;
  return row;
}
