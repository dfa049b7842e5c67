// The one seeded generator of the tests and benchmarks (xorshift64*): the same sequence on
// every run, so generated holders, balances and transfer legs are identical on both sides of a
// comparison and a failure replays. Not for anything secret.

/** 63-bit unsigned integers as bigint (balances above 2^53 need them). */
export function seededRandom(seed: number): () => bigint {
  let state = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
  const mask = (1n << 64n) - 1n;
  return () => {
    state ^= state >> 12n;
    state ^= (state << 25n) & mask;
    state ^= state >> 27n;
    state &= mask;
    return ((state * 0x2545f4914f6cdd1dn) & mask) >> 1n;
  };
}

/** Numbers in [0, 1), from the same generator: its top 53 bits. */
export function seededFractions(seed: number): () => number {
  const next = seededRandom(seed);
  return () => Number(next() >> 10n) / 2 ** 53;
}
