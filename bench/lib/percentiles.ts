// Latency percentiles by the nearest-rank method (no interpolation: every reported figure is a
// latency that was actually observed).

/** Sorts the samples in place and returns them. */
export function sortSamples(samples: number[]): number[] {
  return samples.sort((a, b) => a - b);
}

/** The p-th percentile (0 < p <= 100) of ascending samples. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of no samples');
  if (!(p > 0 && p <= 100)) throw new Error(`percentile ${p} is outside (0, 100]`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1]!;
}
