// The lines of a byte stream, the one splitter under every NDJSON reader (snapshot contents,
// ledger snapshots, log segments): UTF-8 decoded strictly, split on `\n`, a line longer than a
// bound refused before it grows further, and content that does not end with a newline refused.
// Each reader names its own error (`fail`), so its messages stay its own.

export type LineProblem = 'tooLong' | 'unterminated';

/** The lines of `source` without their `\n`; `fail(problem)` gives the error thrown for bad content. */
export async function* splitLines(source: AsyncIterable<Uint8Array>, charsMax: number, fail: (problem: LineProblem) => Error): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending = '';
  for await (const chunk of source) {
    const parts = (pending + decoder.decode(chunk, { stream: true })).split('\n');
    pending = parts.pop()!;
    if (pending.length > charsMax) throw fail('tooLong');
    yield* parts;
  }
  if (pending + decoder.decode() !== '') throw fail('unterminated');
}
