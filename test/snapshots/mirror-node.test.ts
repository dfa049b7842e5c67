// The fake mirror node (test/support/mirror-node.ts) against the mirror node's own REST spec
// fixtures (test/fixtures/hedera-mirror, Apache-2.0). The expected answers are inlined; the
// inlined copies are checked against the fixtures too.

import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { type FakeMirrorNode, startMirrorNode } from '../../testkit/mirror-node.ts';

const fixturesDir = new URL('../fixtures/hedera-mirror/', import.meta.url);

// tokens_id/not-found.json and tokens_id_balances/invalid-token-id.json
const notFoundBody = { _status: { messages: [{ message: 'Not found' }] } };
const invalidTokenIdBody = { _status: { messages: [{ message: 'Invalid parameter: tokenid' }] } };
const emptyPage = { timestamp: null, balances: [], links: { next: null } };

// tokens_id_balances/limit.json, first test: the shape of a full page and its next link.
const limitPage = {
  balances: [
    { account: '0.0.17', balance: 300, decimals: 1 },
    { account: '0.0.19', balance: 301, decimals: 1 },
  ],
  next: '/api/v1/tokens/0.0.201/balances?account.balance=gte:300&limit=2&order=asc&account.id=gt:0.0.19',
};

interface Answer {
  status: number;
  raw: string;
  json: unknown;
}

async function get(node: FakeMirrorNode, path: string): Promise<Answer> {
  const response = await fetch(`${node.url}${path}`);
  const raw = await response.text();
  return { status: response.status, raw, json: JSON.parse(raw) };
}

function fixture(path: string): any {
  return JSON.parse(readFileSync(new URL(path, fixturesDir), 'utf8'));
}

describe('fake mirror node', () => {
  let node: FakeMirrorNode;

  before(async () => {
    node = await startMirrorNode({
      snapshotTimestamp: '1566560001.000000000',
      tokens: [
        { tokenId: '0.0.1135', name: 'Token name', symbol: 'ORIGINALRDKSE', decimals: 1000, totalSupply: 1000000n, holders: [] },
        { tokenId: '0.0.1', name: 'T1', symbol: 'TOKEN1', decimals: 1, totalSupply: 10000n, holders: [
          { account: '0.0.1', balance: 80n }, { account: '0.0.2', balance: 1000n },
        ] },
        { tokenId: '0.0.7', name: 'T7', symbol: 'TOKEN1', decimals: 7, totalSupply: 10000n, holders: [
          { account: '0.0.17', balance: 300n }, { account: '0.0.18', balance: 500n }, { account: '0.0.19', balance: 700n },
          { account: '0.0.20', balance: 900n }, { account: '0.0.21', balance: 1000n },
        ] },
        { tokenId: '0.0.201', name: 'T201', symbol: 'TOKEN1', decimals: 1, totalSupply: 10000n, holders: [
          { account: '0.0.17', balance: 300n }, { account: '0.0.18', balance: 299n }, { account: '0.0.19', balance: 301n },
          { account: '0.0.20', balance: 302n }, { account: '0.0.22', balance: 350n }, { account: '0.0.23', balance: 450n },
        ] },
        { tokenId: '0.0.2007', name: 'T2007', symbol: 'TOKEN1', decimals: 7, totalSupply: 10000n, holders: [
          { account: '0.0.7', balance: 700n }, { account: '0.0.8', balance: 1000n },
        ] },
        { tokenId: '0.0.9', name: 'Big', symbol: 'BIG', decimals: 0, totalSupply: 2n ** 64n, holders: [
          { account: '0.0.5', balance: 2n ** 63n + 7n },
        ] },
      ],
    });
    // Balance snapshots of timestamp.json and timestamp-range.json for token 0.0.1.
    node.publishSnapshot('1566560003.000000000', { '0.0.1': [
      { account: '0.0.4', balance: 4n }, { account: '0.0.5', balance: 5n }, { account: '0.0.6', balance: 6n },
    ] });
    node.publishSnapshot('1566560007.000000000', { '0.0.1': [
      { account: '0.0.4', balance: 4n }, { account: '0.0.5', balance: 5n }, { account: '0.0.6', balance: 662n },
    ] });
    node.publishSnapshot('1566560008.000000000', {});
  });

  after(() => node.close());

  it('inlined expectations match the shared fixtures (when present)', function () {
    if (!existsSync(fixturesDir)) this.skip();
    expect(fixture('tokens_id/not-found.json').responseJson).to.deep.equal(notFoundBody);
    expect(fixture('tokens_id_balances/invalid-token-id.json').responseJson).to.deep.equal(invalidTokenIdBody);
    expect(fixture('tokens_id_balances/token-not-found.json').responseJson).to.deep.equal(emptyPage);
    const limit = fixture('tokens_id_balances/limit.json').tests[0].responseJson;
    expect(limit.balances).to.deep.equal(limitPage.balances);
    expect(limit.links.next).to.equal(limitPage.next);
  });

  describe('GET /api/v1/tokens/{id}', () => {
    it('answers token info in the shape of tokens_id/no-params.json, in every id form', async () => {
      for (const id of ['0.0.1135', '0.1135', '1135', '000000000000000000000000000000000000046F',
        '0x000000000000000000000000000000000000046F', '0.0.000000000000000000000000000000000000046F']) {
        const answer = await get(node, `/api/v1/tokens/${id}`);
        expect(answer.status, id).to.equal(200);
        expect(answer.json).to.include({
          token_id: '0.0.1135', symbol: 'ORIGINALRDKSE', name: 'Token name', decimals: '1000',
          total_supply: '1000000', type: 'FUNGIBLE_COMMON',
        });
      }
    });

    it('answers 404 with the exact not-found body', async () => {
      const answer = await get(node, '/api/v1/tokens/0.0.4242');
      expect(answer.status).to.equal(404);
      expect(answer.raw).to.equal(JSON.stringify(notFoundBody));
    });

    it('answers the token as it was at `timestamp` (tokenInfoTimestampQueryParam), today\'s without one', async () => {
      node.updateToken('0.0.2007', '1566560005.000000000', { name: 'T2007 renamed', totalSupply: 20000n });
      const info = async (query: string) => {
        const answer = await get(node, `/api/v1/tokens/0.0.2007${query}`);
        expect(answer.status, query).to.equal(200);
        const { name, total_supply, modified_timestamp } = answer.json as Record<string, string>;
        return { name, total_supply, modified_timestamp };
      };
      const before = { name: 'T2007', total_supply: '10000', modified_timestamp: '1234567890.000000003' };
      const after = { name: 'T2007 renamed', total_supply: '20000', modified_timestamp: '1566560005.000000000' };
      expect(await info('')).to.deep.equal(after);
      expect(await info('?timestamp=1566560004.999999999')).to.deep.equal(before);
      expect(await info('?timestamp=1566560005')).to.deep.equal(after);
      expect(await info('?timestamp=eq:1566560005.000000000')).to.deep.equal(after);
      expect(await info('?timestamp=lte:1566560006')).to.deep.equal(after);
      expect(await info('?timestamp=lt:1566560005')).to.deep.equal(before);
      for (const query of ['?timestamp=gt:1566560005', '?timestamp=1566560005.0000000001', '?timestamp=abc']) {
        const answer = await get(node, `/api/v1/tokens/0.0.2007${query}`);
        expect(answer.status, query).to.equal(400);
        expect(answer.json).to.deep.equal({ _status: { messages: [{ message: 'Invalid parameter: timestamp' }] } });
      }
      expect((await get(node, '/api/v1/tokens/0.0.2007?limit=1')).json).to.deep.equal({ _status: { messages: [{ message: 'Unknown query parameter: limit' }] } });
    });
  });

  describe('GET /api/v1/accounts', () => {
    it('answers the highest account id with order=desc&limit=1, in the AccountsResponse shape', async () => {
      const answer = await get(node, '/api/v1/accounts?order=desc&limit=1');
      expect(answer.status).to.equal(200);
      const body = answer.json as { accounts: Array<Record<string, unknown>>; links: { next: string | null } };
      expect(body.accounts.map((a) => a.account)).to.deep.equal(['0.0.98']); // the fee account; holders end at 0.0.23
      expect(body.accounts[0]).to.include.keys('account', 'alias', 'auto_renew_period', 'balance', 'created_timestamp', 'decline_reward',
        'deleted', 'ethereum_nonce', 'evm_address', 'expiry_timestamp', 'key', 'max_automatic_token_associations', 'memo',
        'receiver_sig_required', 'staked_account_id', 'staked_node_id', 'stake_period_start');
      expect(body.links.next).to.equal('/api/v1/accounts?order=desc&limit=1&account.id=lt:0.0.98');
    });

    it('orders ascending by default (orderQueryParam) and pages by account.id', async () => {
      const first = (await get(node, '/api/v1/accounts?limit=3')).json as { accounts: Array<{ account: string }>; links: { next: string } };
      expect(first.accounts.map((a) => a.account)).to.deep.equal(['0.0.1', '0.0.2', '0.0.4']);
      const second = (await get(node, first.links.next)).json as { accounts: Array<{ account: string }> };
      expect(second.accounts.map((a) => a.account)).to.deep.equal(['0.0.5', '0.0.6', '0.0.7']);
      expect((await get(node, '/api/v1/accounts?timestamp=1')).status).to.equal(400); // no timestamp parameter on /accounts
    });
  });

  describe('GET /api/v1/tokens/{id}/balances', () => {
    it('pages like limit.json: full page, next link keeping every parameter, in every id form', async () => {
      for (const id of ['0.0.201', '00000000000000000000000000000000000000C9', '0x00000000000000000000000000000000000000C9']) {
        const answer = await get(node, `/api/v1/tokens/${id}/balances?account.balance=gte:300&limit=2&order=asc`);
        const body = answer.json as { balances: unknown; links: { next: string } };
        expect(body.balances).to.deep.equal(limitPage.balances);
        expect(body.links.next).to.equal(limitPage.next.replace('0.0.201', id));
      }
    });

    it('follows its own next links to the end, then answers next: null', async () => {
      let path: string | null = '/api/v1/tokens/0.0.201/balances?account.balance=gte:300&limit=2&order=asc';
      const seen: string[] = [];
      while (path !== null) {
        const body = (await get(node, path)).json as { balances: Array<{ account: string }>; links: { next: string | null } };
        seen.push(...body.balances.map((b) => b.account));
        path = body.links.next;
      }
      expect(seen).to.deep.equal(['0.0.17', '0.0.19', '0.0.20', '0.0.22', '0.0.23']);
    });

    it('defaults to order desc and limit 25 (no-params.json), and caps limit at 100', async () => {
      // No timestamp: the live (latest) balances, highest account first.
      const body = (await get(node, '/api/v1/tokens/0.0.1/balances')).json as any;
      expect(body.balances).to.deep.equal([
        { account: '0.0.6', balance: 662, decimals: 1 }, { account: '0.0.5', balance: 5, decimals: 1 },
        { account: '0.0.4', balance: 4, decimals: 1 },
      ]);
      const big = await startMirrorNode({ tokens: [{ tokenId: '0.0.50', name: 'n', symbol: 'S', decimals: 0, totalSupply: 300n,
        holders: Array.from({ length: 250 }, (_, i) => ({ account: `0.0.${1000 + i}`, balance: 1n })) }] });
      try {
        const capped = (await get(big, '/api/v1/tokens/0.0.50/balances?limit=1000&order=asc')).json as any;
        expect(capped.balances).to.have.length(100);
        expect(capped.links.next).to.equal('/api/v1/tokens/0.0.50/balances?limit=1000&order=asc&account.id=gt:0.0.1099');
        const byDefault = (await get(big, '/api/v1/tokens/0.0.50/balances')).json as any;
        expect(byDefault.balances).to.have.length(25);
        expect(byDefault.balances[0].account).to.equal('0.0.1249');
        expect(byDefault.links.next).to.equal('/api/v1/tokens/0.0.50/balances?account.id=lt:0.0.1225');
      } finally {
        await big.close();
      }
    });

    it('filters by balance range (balance-range.json) and by account id (specific-id.json)', async () => {
      const range = (await get(node, '/api/v1/tokens/0.0.7/balances?account.balance=gt:300&account.balance=lte:700&&order=asc')).json;
      expect(range).to.deep.include({
        balances: [{ account: '0.0.18', balance: 500, decimals: 7 }, { account: '0.0.19', balance: 700, decimals: 7 }],
        links: { next: null },
      });
      for (const path of ['/api/v1/tokens/0.0.2007/balances?account.id=0.0.8', '/api/v1/tokens/0.2007/balances?account.id=0.8',
        '/api/v1/tokens/2007/balances?account.id=8', '/api/v1/tokens/0x00000000000000000000000000000000000007D7/balances?account.id=8']) {
        const body = (await get(node, path)).json as any;
        expect(body.balances, path).to.deep.equal([{ account: '0.0.8', balance: 1000, decimals: 7 }]);
      }
      const ops = (await get(node, '/api/v1/tokens/0.0.7/balances?account.id=gte:0.0.18&account.id=lt:0.0.21&order=asc')).json as any;
      expect(ops.balances.map((b: { account: string }) => b.account)).to.deep.equal(['0.0.18', '0.0.19', '0.0.20']);
    });

    it('answers from the latest balance snapshot at or before timestamp (timestamp.json, timestamp-range.json)', async () => {
      const at = (await get(node, '/api/v1/tokens/0.0.1/balances?timestamp=1566560004.000000000')).json as any;
      expect(at.timestamp).to.equal('1566560003.000000000');
      expect(at.balances).to.deep.equal([
        { account: '0.0.6', balance: 6, decimals: 1 }, { account: '0.0.5', balance: 5, decimals: 1 },
        { account: '0.0.4', balance: 4, decimals: 1 },
      ]);
      const range = (await get(node, '/api/v1/tokens/0.0.1/balances?timestamp=gt:1566560003.000000000&timestamp=lt:1566560007.000000001')).json as any;
      expect(range.timestamp).to.equal('1566560007.000000000');
      expect(range.balances[0]).to.deep.equal({ account: '0.0.6', balance: 662, decimals: 1 });
    });

    it('writes balances above 2^53 as exact raw JSON numbers', async () => {
      const answer = await get(node, '/api/v1/tokens/0.0.9/balances');
      expect(answer.raw).to.contain(`"balance":${2n ** 63n + 7n},`);
    });

    it('answers 200 with an empty list for an unknown token (token-not-found.json)', async () => {
      for (const path of ['/api/v1/tokens/0.0.2/balances', '/api/v1/tokens/0.0.2/balances?timestamp=1566560004.000000000']) {
        const answer = await get(node, path);
        expect(answer.status).to.equal(200);
        expect(answer.json).to.deep.equal(emptyPage);
      }
    });

    it('answers 400 with the fixture body for invalid token ids (invalid-token-id.json)', async () => {
      for (const id of ['2abcd', '0.0.0x000000000000000000000000000000000000046F', '06bd279138d5918402fc8ad500526cb2ee0eb985']) {
        const answer = await get(node, `/api/v1/tokens/${id}/balances`);
        expect(answer.status, id).to.equal(400);
        expect(answer.json).to.deep.equal(invalidTokenIdBody);
      }
      expect((await get(node, '/api/v1/tokens/0.0.1/balances?limit=0')).status).to.equal(400);
      expect((await get(node, '/api/v1/tokens/0.0.1/balances?color=red')).status).to.equal(400);
    });
  });

  describe('GET /api/v1/balances', () => {
    it('reports the latest balance snapshot, or the latest at or before a timestamp', async () => {
      const latest = (await get(node, '/api/v1/balances?limit=1')).json as any;
      expect(latest.timestamp).to.equal('1566560008.000000000');
      const before = (await get(node, '/api/v1/balances?limit=1&timestamp=lte:1566560005')).json as any;
      expect(before.timestamp).to.equal('1566560003.000000000');
    });
  });

  describe('rate limit and faults', () => {
    it('answers 429 with Retry-After and X-Retry-In beyond its rate limit', async () => {
      const limited = await startMirrorNode({ tokens: [], rateLimitRps: 5 });
      try {
        const answers = await Promise.all(Array.from({ length: 12 }, () => fetch(`${limited.url}/api/v1/balances?limit=1`)));
        const throttled = answers.filter((a) => a.status === 429);
        expect(throttled.length).to.be.greaterThan(0);
        expect(limited.stats.tooManyRequests).to.equal(throttled.length);
        expect(throttled[0]?.headers.get('retry-after')).to.match(/^\d+$/);
        expect(throttled[0]?.headers.get('x-retry-in')).to.match(/^\d+(\.\d+)?ms$/);
        await Promise.all(answers.map((a) => a.body?.cancel()));
      } finally {
        await limited.close();
      }
    });

    it('injects failures, garbage and cut bodies on schedule', async () => {
      node.setFaults({ failEveryNth: 3, failStatus: 503, retryAfter: '1' });
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await fetch(`${node.url}/api/v1/balances?limit=1`)).status);
      expect(statuses.filter((s) => s === 503)).to.have.length(2);
      node.setFaults({ garbageEveryNth: 1 });
      const garbage = await (await fetch(`${node.url}/api/v1/balances?limit=1`)).text();
      expect(() => JSON.parse(garbage)).to.throw(SyntaxError);
      node.setFaults({ cutEveryNth: 1 });
      let cutError: unknown = null;
      try {
        await (await fetch(`${node.url}/api/v1/tokens/0.0.201/balances`)).text();
      } catch (error) {
        cutError = error;
      }
      expect(cutError).to.be.instanceOf(Error);
      node.setFaults({});
    });
  });

  describe('GET /api/v1/tokens/{id}/nfts', () => {
    // The setups of tokens_id_nfts/*.json: token 0.0.1500's serials.
    const noParams = [{ serial: 1, account: '0.0.1001' }, { serial: 2, account: '0.0.2001' }, { serial: 3, account: '0.0.1001' }];
    const limitSetup = [...noParams, { serial: 4, account: '0.0.1002' }, { serial: 5, account: '0.0.1003' }];
    const deletedSetup = [{ serial: 1, account: '0.0.1001', deleted: true }, { serial: 2, account: '0.0.2001' }, { serial: 3, account: '0.0.1001', deleted: true }];
    const nftToken = (nfts: Array<{ serial: number; account: string; deleted?: boolean }>) => ({ tokens: [
      { tokenId: '0.0.1500', name: 'N', symbol: 'FIRSTMOVERLPDJH', decimals: 0, totalSupply: BigInt(nfts.length), type: 'NON_FUNGIBLE_UNIQUE' as const, nfts, holders: [] },
    ] });
    const fields = (nft: any) => ({ account_id: nft.account_id, deleted: nft.deleted, metadata: nft.metadata, serial_number: nft.serial_number, token_id: nft.token_id });

    async function against(nfts: Parameters<typeof nftToken>[0], path: string, expected: any): Promise<void> {
      const nftNode = await startMirrorNode(nftToken(nfts));
      try {
        const answer = await get(nftNode, path);
        expect(answer.status, path).to.equal(200);
        const json = answer.json as any;
        expect(json.nfts.map(fields), path).to.deep.equal(expected.nfts.map(fields));
        expect(json.links, path).to.deep.equal(expected.links);
      } finally {
        await nftNode.close();
      }
    }

    it('lists serials newest first with the fixture fields, in every id form (no-params.json)', async function () {
      if (!existsSync(fixturesDir)) this.skip();
      const f = fixture('tokens_id_nfts/no-params.json');
      for (const url of f.urls) await against(noParams, url, f.responseJson);
    });

    it('pages with serialnumber=lt:LAST and ends when the range is empty (limit.json, its 3- and gt:2 cases)', async function () {
      if (!existsSync(fixturesDir)) this.skip();
      const { tests } = fixture('tokens_id_nfts/limit.json');
      for (const t of tests.filter((x: any) => !x.url.includes('limit=5'))) await against(limitSetup, t.url, t.responseJson); // limit=5 needs its config's max of 4
    });

    it('flags deleted serials (deleted-nft.json), and answers order=asc, account.id and bad parameters as the API does', async function () {
      if (!existsSync(fixturesDir)) this.skip();
      const f = fixture('tokens_id_nfts/deleted-nft.json');
      await against(deletedSetup, f.urls[0], f.responseJson);
      const nftNode = await startMirrorNode(nftToken(limitSetup));
      try {
        const asc = (await get(nftNode, '/api/v1/tokens/0.0.1500/nfts?order=asc&limit=2')).json as any;
        expect(asc.nfts.map((n: any) => n.serial_number)).to.deep.equal([1, 2]);
        expect(asc.links.next).to.equal('/api/v1/tokens/0.0.1500/nfts?order=asc&limit=2&serialnumber=gt:2');
        const mine = (await get(nftNode, '/api/v1/tokens/0.0.1500/nfts?account.id=0.0.1001')).json as any;
        expect(mine.nfts.map((n: any) => n.serial_number)).to.deep.equal([3, 1]);
        nftNode.transferNft('0.0.1500', 3, '0.0.2001');
        nftNode.burnNft('0.0.1500', 1);
        const after = (await get(nftNode, '/api/v1/tokens/0.0.1500/nfts?order=asc')).json as any;
        expect(after.nfts.map((n: any) => [n.serial_number, n.account_id, n.deleted])).to.deep.equal([[1, null, true], [2, '0.0.2001', false], [3, '0.0.2001', false], [4, '0.0.1002', false], [5, '0.0.1003', false]]);
        expect((await get(nftNode, '/api/v1/tokens/0.0.1500/nfts?timestamp=1')).status).to.equal(400);
        expect((await get(nftNode, '/api/v1/tokens/0.0.1500/nfts?serialnumber=abc')).status).to.equal(400);
      } finally {
        await nftNode.close();
      }
    });
  });
});
