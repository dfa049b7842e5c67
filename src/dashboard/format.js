// Amounts are base-unit integer strings everywhere in Tally; shown in tokens with the token's
// decimals, exactly (bignumber.js, never a float).
import BigNumber from '/dashboard/vendor/bignumber.mjs';

const Exact = BigNumber.clone({ EXPONENTIAL_AT: 1e9, DECIMAL_PLACES: 40 });
const grouped = { decimalSeparator: '.', groupSeparator: ',', groupSize: 3 };

/** "1500000" with 6 decimals -> "1.5"; grouped by thousands; exact for any amount. */
export function formatAmount(baseUnits, decimals) {
  if (baseUnits === null || baseUnits === undefined) return '–';
  const value = new Exact(baseUnits);
  if (!value.isFinite()) return String(baseUnits);
  return value.shiftedBy(-Number(decimals ?? 0)).toFormat(grouped);
}

/** part / whole as a percentage with two decimals ("87.65"), "0" when whole is 0. */
export function percent(part, whole) {
  const total = new Exact(whole);
  if (total.isZero()) return '0';
  return new Exact(part).times(100).div(total).toFixed(2, BigNumber.ROUND_DOWN);
}

/** The sum of base-unit strings, as a string. */
export function sum(amounts) {
  return amounts.reduce((acc, a) => acc.plus(a), new Exact(0)).toFixed();
}

export function formatTime(value) {
  if (value === null || value === undefined || value === '') return '–';
  const date = typeof value === 'number' ? new Date(value) : new Date(String(value));
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
