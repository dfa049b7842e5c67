// The shapes every benchmark scenario shares. A scenario is a module under bench/scenarios/ that
// exports one `Scenario`; bench/run.ts lists them, runs each in turn and collects their rows.

export interface BenchContext {
  /** BENCH_QUICK=1: fewer holders and shorter measurements, for a check in under 2 minutes. */
  quick: boolean;
  /** Untimed running before each round (connections warm, JIT and server caches hot). */
  warmupMs: number;
  /** How long each throughput or latency figure is measured, split over `rounds`. */
  measureMs: number;
  /** Compared loads run interleaved in this many rounds (see bench/lib/measure.ts). */
  rounds: number;
  /** Holders for the scenarios that need a large token (1,000,000; 100,000 when quick). */
  holders: number;
  /** Progress for the person watching, on stderr (the table goes to stdout). */
  log(message: string): void;
}

export interface Scenario {
  /** Short kebab-case id, matched by BENCH_ONLY. */
  name: string;
  run(ctx: BenchContext): Promise<ResultRow[]>;
}

/** What a figure is compared with: the ratio value / baselineValue against a bound. */
export interface Target {
  op: '>=' | '<=';
  ratio: number;
}

export interface ResultRow {
  scenario: string;
  figure: string;
  unit: string;
  value: number;
  baseline: string;
  baselineValue: number;
  /** value / baselineValue. */
  ratio: number;
  /** e.g. "ratio >= 0.5"; null for figures recorded for information only. */
  target: string | null;
  met: boolean | null;
  /** What limited the figure or how it was taken, when that helps reading it. */
  note?: string;
}
