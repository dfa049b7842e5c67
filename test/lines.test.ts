// src/lines.ts, the splitter under every NDJSON reader: lines across chunk boundaries (also inside
// a multi-byte character), the length bound, an unterminated end, strict UTF-8.
import { expect } from 'chai';
import { splitLines, type LineProblem } from '../src/lines.ts';

async function lines(chunks: Uint8Array[], charsMax = 10): Promise<string[] | LineProblem | string> {
  const out: string[] = [];
  try {
    for await (const line of splitLines((async function* () { yield* chunks; })(), charsMax, (problem) => new Error(problem))) out.push(line);
  } catch (error) {
    return (error as Error).message;
  }
  return out;
}

describe('splitLines', () => {
  it('splits on newlines across chunks, a multi-byte character cut between two chunks included', async () => {
    const euro = Buffer.from('€'); // three bytes
    expect(await lines([Buffer.from('ab\nc'), euro.subarray(0, 1), Buffer.concat([euro.subarray(1), Buffer.from('\n\nd\n')])]))
      .to.deep.equal(['ab', 'c€', '', 'd']);
    expect(await lines([])).to.deep.equal([]);
  });

  it('refuses a line longer than the bound before its end comes, and content without a final newline', async () => {
    expect(await lines([Buffer.from('0123456789\n')])).to.deep.equal(['0123456789']);
    expect(await lines([Buffer.from('01234567890')])).to.equal('tooLong');
    expect(await lines([Buffer.from('ok\nnot ended')])).to.equal('unterminated');
  });

  it('refuses bytes that are not UTF-8', async () => {
    expect(await lines([Buffer.from([0x61, 0xff, 0x0a])])).to.match(/encoded data was not valid/);
  });
});
