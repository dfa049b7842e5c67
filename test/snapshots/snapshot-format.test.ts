import { expect } from 'chai';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import {
  csvHeaderLine,
  encodeSnapshot,
  headerLine,
  holderLine,
  lineCharsMax,
  ndjsonToCsv,
} from '../../src/snapshots/snapshot-format.ts';
import type { Holder, SnapshotHeader } from '../../src/snapshots/snapshot-format.ts';
import { SnapshotFormatError } from '../../src/snapshots/errors.ts';

const header: SnapshotHeader = {
  tokenId: '0.0.1135',
  network: 'mainnet',
  timestamp: '1716885861.254421003',
  name: 'Tally Token é',
  symbol: 'TLY',
  decimals: 8,
  totalSupply: '123456789012345678901234567890',
  type: 'FUNGIBLE_COMMON',
};

const expectedHeader =
  '{"tokenId":"0.0.1135","network":"mainnet","timestamp":"1716885861.254421003","name":"Tally Token é",' +
  '"symbol":"TLY","decimals":8,"totalSupply":"123456789012345678901234567890","type":"FUNGIBLE_COMMON"}\n';

async function collect(source: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function toCsv(chunks: Uint8Array[]): Promise<string> {
  return text(Readable.from(chunks.map((c) => Buffer.from(c))).pipe(ndjsonToCsv()));
}

describe('snapshot-format', () => {
  describe('headerLine', () => {
    it('writes the contract bytes: key order, no spaces, \\n', () => {
      expect(headerLine(header)).to.equal(expectedHeader);
    });

    it('keeps the contract key order whatever order the input object has', () => {
      const shuffled = Object.fromEntries(Object.entries(header).reverse()) as unknown as SnapshotHeader;
      expect(headerLine(shuffled)).to.equal(expectedHeader);
    });

    it('writes network null for a custom mirror node', () => {
      expect(headerLine({ ...header, network: null })).to.contain('"network":null,');
    });

    it('rejects headers that would break the contract', () => {
      expect(() => headerLine({ ...header, tokenId: '0.0.1135-abcde' })).to.throw(SnapshotFormatError);
      expect(() => headerLine({ ...header, timestamp: '1716885861.2544210031' })).to.throw(SnapshotFormatError);
      expect(() => headerLine({ ...header, totalSupply: '1e30' })).to.throw(SnapshotFormatError);
      expect(() => headerLine({ ...header, decimals: 1.5 })).to.throw(SnapshotFormatError);
    });
  });

  describe('holderLine', () => {
    it('writes the exact holder line, balances beyond 2^53 untouched', () => {
      expect(holderLine({ account: '0.0.98', balance: '9007199254740993' }))
        .to.equal('{"account":"0.0.98","balance":"9007199254740993"}\n');
    });

    it('rejects zero, signed, fractional, spaced balances and non-canonical accounts', () => {
      for (const balance of ['0', '-1', '1.0', ' 1', '01', '1e3', '']) {
        expect(() => holderLine({ account: '0.0.1', balance }), balance).to.throw(SnapshotFormatError);
      }
      for (const account of ['0.0.01', '0.0.1-dfkxr', '1', '0.0.1 ']) {
        expect(() => holderLine({ account, balance: '1' }), account).to.throw(SnapshotFormatError);
      }
    });
  });

  describe('encodeSnapshot', () => {
    it('streams header then holder lines, byte for byte', async () => {
      const batches: Holder[][] = [
        [{ account: '0.0.9', balance: '1' }, { account: '0.0.10', balance: '18446744073709551616' }],
        [],
        [{ account: '0.1.0', balance: '5' }],
      ];
      const bytes = await collect(encodeSnapshot(header, batches));
      expect(bytes).to.equal(
        expectedHeader +
          '{"account":"0.0.9","balance":"1"}\n' +
          '{"account":"0.0.10","balance":"18446744073709551616"}\n' +
          '{"account":"0.1.0","balance":"5"}\n',
      );
    });

    it('refuses holders out of (shard, realm, num) order or repeated', async () => {
      const unsorted = [[{ account: '0.0.10', balance: '1' }], [{ account: '0.0.9', balance: '1' }]];
      await expectRejection(collect(encodeSnapshot(header, unsorted)), /out of order/);
      const repeated = [[{ account: '0.0.10', balance: '1' }, { account: '0.0.10', balance: '2' }]];
      await expectRejection(collect(encodeSnapshot(header, repeated)), /out of order/);
    });
  });

  describe('ndjsonToCsv', () => {
    const ndjson = expectedHeader +
      '{"account":"0.0.9","balance":"1"}\n{"account":"0.0.10","balance":"18446744073709551616"}\n';
    const csv = `${csvHeaderLine}0.0.9,1\n0.0.10,18446744073709551616\n`;

    it('renders account,balance rows', async () => {
      expect(await toCsv([Buffer.from(ndjson)])).to.equal(csv);
    });

    it('gives the same CSV however the bytes are chunked (even inside a UTF-8 character)', async () => {
      const bytes = Buffer.from(ndjson);
      const oneByteChunks = [...bytes].map((b) => Uint8Array.of(b));
      expect(await toCsv(oneByteChunks)).to.equal(csv);
    });

    it('renders a snapshot without holders as the CSV header only', async () => {
      expect(await toCsv([Buffer.from(expectedHeader)])).to.equal(csvHeaderLine);
    });

    it('fails the stream on bytes that are not a snapshot', async () => {
      await expectRejection(toCsv([Buffer.from('hello\n')]), /line 1/);
      await expectRejection(toCsv([Buffer.from(`${expectedHeader}{"account":"0.0.9","balance":1}\n`)]), /line 2/);
      await expectRejection(toCsv([Buffer.from(expectedHeader.slice(0, -1))]), /newline/);
      await expectRejection(toCsv([Buffer.from(expectedHeader), Uint8Array.of(0xff, 0x0a)]), /UTF-8/);
      await expectRejection(toCsv([Buffer.from('x'.repeat(lineCharsMax + 1))]), /longer than/);
      await expectRejection(toCsv([]), /empty/);
    });
  });
});

async function expectRejection(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(SnapshotFormatError);
    expect((error as Error).message).to.match(message);
    return;
  }
  expect.fail('expected a rejection');
}
