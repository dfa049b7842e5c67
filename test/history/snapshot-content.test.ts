// The ledger snapshot bytes and the `at` rule, without Redis: what readLedgerSnapshot accepts and
// refuses (a checkpoint read back from IPFS must be exactly the format), the holder order, the
// header's timestamp, and parseAt's forms and bounds.
import { expect } from 'chai';
import { InvalidAtError, parseAt } from '../../src/ledger/history.ts';
import {
  compareLedgerAccounts, eventTimestamp, ledgerHeaderLine, ledgerHolderLine, LedgerSnapshotContentError, readLedgerSnapshot,
} from '../../src/ledger/snapshot-content.ts';
import { expectedOrder } from './workload.ts';

const header = ledgerHeaderLine({ symbol: 'GOLD', eventId: '1700000000123-4', name: 'Gold "g"', decimals: 2, totalSupply: '100', circulatingSupply: '90' });
const bytes = (text: string) => (async function* () { yield Buffer.from(text); })();

async function read(text: string) {
  const { header: h, holders } = await readLedgerSnapshot(bytes(text));
  const all = [];
  for await (const holder of holders) all.push(holder);
  return { header: h, holders: all };
}

async function refusal(text: string): Promise<Error> {
  try {
    await read(text);
  } catch (error) {
    return error as Error;
  }
  throw new Error('read did not refuse');
}

describe('ledger snapshot content', () => {
  it('writes the header keys in the documented order, the time of the event id, and reads it back with its holders', async () => {
    expect(Object.keys(JSON.parse(header))).to.deep.equal(['tokenId', 'network', 'timestamp', 'name', 'symbol', 'decimals', 'totalSupply', 'type', 'eventId', 'circulatingSupply']);
    expect(eventTimestamp('1700000000123-4')).to.equal('1700000000.123000000');
    expect(eventTimestamp('5-0')).to.equal('0.005000000');
    const text = header + ledgerHolderLine({ account: '0.0.9', balance: '50' }) + ledgerHolderLine({ account: 'bob', balance: '40' });
    const parsed = await read(text);
    expect(parsed.header).to.include({ symbol: 'GOLD', eventId: '1700000000123-4', name: 'Gold "g"', circulatingSupply: '90' });
    expect(parsed.holders).to.deep.equal([{ account: '0.0.9', balance: '50' }, { account: 'bob', balance: '40' }]);
  });

  it('orders Hedera ids by number before other accounts, those by byte order, as the documentation says', () => {
    const accounts = ['b', '0.0.10', 'A', '0.0.9', '1.0.0', '0.0.010', 'a.b@c', '0.1.0', 'Z-9'];
    expect([...accounts].sort(compareLedgerAccounts)).to.deep.equal([...accounts].sort(expectedOrder));
    expect([...accounts].sort(compareLedgerAccounts).slice(0, 4)).to.deep.equal(['0.0.9', '0.0.10', '0.1.0', '1.0.0']);
  });

  it('refuses bytes that are not a ledger snapshot: another header, a bad line, holders out of order, a missing newline', async () => {
    const hedera = '{"tokenId":"0.0.1","network":"testnet","timestamp":"1.000000000","name":"x","symbol":"X","decimals":0,"totalSupply":"1","type":"FUNGIBLE_COMMON"}\n';
    for (const text of [
      hedera,
      'not json\n',
      `${header}{"account":"bob","balance":"0"}\n`,
      `${header}{"account":"bob","balance":"5"}\n{"account":"alice","balance":"5"}\n`,
      `${header}{"account":"0.0.9","balance":"5"}`,
    ]) {
      const error = await refusal(text);
      expect(error, text).to.be.instanceOf(LedgerSnapshotContentError);
      expect((error as LedgerSnapshotContentError).code).to.equal('INVALID_SNAPSHOT_CONTENT');
    }
  });
});

describe('parseAt', () => {
  it('takes an event id or an ISO 8601 time with a zone', () => {
    expect(parseAt('1700000000000-0')).to.deep.equal({ eventId: '1700000000000-0' });
    expect(parseAt('2026-01-31T23:59:59Z')).to.deep.equal({ ms: Date.parse('2026-01-31T23:59:59Z') });
    expect(parseAt('2026-01-31T23:59:59.250+02:00')).to.deep.equal({ ms: Date.parse('2026-01-31T21:59:59.250Z') });
  });

  it('refuses anything else with INVALID_AT', () => {
    for (const bad of ['', 'now', '01-0', '1-01', '1.5', '2026-01-31', '2026-01-31T23:59:59', '18446744073709551616-0', '1-18446744073709551616', 'x'.repeat(65), 5]) {
      expect(() => parseAt(bad), String(bad)).to.throw(InvalidAtError);
    }
  });
});
