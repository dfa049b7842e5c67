// Helpers of the fault-injection suite: bounded waits, the per-scenario report line, and the
// quick (CI) / full switch.
export const quick = process.env.FAULTS_QUICK === '1';

/** Resolves once predicate() is true; throws after timeoutMs (every wait here is bounded). */
export async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface ScenarioFigures {
  attempted: number;
  acknowledged: number;
  found: number;
  lost: number;
  [extra: string]: number | string;
}

/** One line per scenario, the figures the README's durability section quotes. */
export function report(scenario: string, figures: ScenarioFigures): void {
  const extra = Object.entries(figures).filter(([k]) => !['attempted', 'acknowledged', 'found', 'lost'].includes(k))
    .map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`      [faults] ${scenario}: attempted=${figures.attempted} acknowledged=${figures.acknowledged} found=${figures.found} lost=${figures.lost}${extra ? ` ${extra}` : ''}`);
}
