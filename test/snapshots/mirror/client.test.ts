import { expect } from 'chai';
import { createMirrorClient, parseGoDurationMs, retryHintMs } from '../../../src/snapshots/mirror/client.ts';
import type { BalancePage, MirrorClient, MirrorClientOptions } from '../../../src/snapshots/mirror/client.ts';
import {
  EntityIdChecksumError,
  MirrorProtocolError,
  MirrorRequestError,
  MirrorUnavailableError,
  HederaTokenNotFoundError,
} from '../../../src/snapshots/errors.ts';
import { compareEntityIds, parseEntityId } from '../../../src/snapshots/hedera-ids.ts';
import { rejectionOf } from '../../../testkit/wait.ts';
import { type FakeHolder, type FakeMirrorNode, type FakeToken, generateHolders, startMirrorNode } from '../../../testkit/mirror-node.ts';

const snapshotTimestamp = '1716885861.254421003';
const bigTokenId = '0.0.5005';
const bigHolders = generateHolders({ count: 10_000, seed: 7, zeroBalances: 50 });
const bigToken: FakeToken = {
  tokenId: bigTokenId,
  name: 'Large token',
  symbol: 'LRG',
  decimals: 8,
  totalSupply: '123456789012345678901234567890',
  holders: bigHolders,
};

/** What a correct read must return: holders with balance > 0, sorted by (shard, realm, num). */
function expectedRows(holders: FakeHolder[]): Array<{ account: string; balance: string }> {
  return holders
    .filter((h) => h.balance > 0n)
    .map((h) => ({ entity: parseEntityId(h.account), balance: h.balance.toString() }))
    .sort((a, b) => compareEntityIds(a.entity, b.entity))
    .map((h) => ({ account: h.entity.id, balance: h.balance }));
}

const expectedBig = expectedRows(bigHolders);

async function readAll(client: MirrorClient, tokenId: string, timestamp: string, afterAccount?: string): Promise<{
  rows: Array<{ account: string; balance: string }>;
  pages: BalancePage[];
}> {
  const pages: BalancePage[] = [];
  for await (const page of client.balancePages(tokenId, timestamp, { afterAccount })) pages.push(page);
  return { rows: pages.flatMap((p) => p.holders), pages };
}


describe('mirror client', function () {
  this.timeout(20_000);
  let node: FakeMirrorNode;
  const clients: MirrorClient[] = [];

  function client(options: Partial<MirrorClientOptions> = {}): MirrorClient {
    const created = createMirrorClient({
      baseUrl: node.url,
      rps: 0,
      requestTimeoutMs: 2_000,
      maxAttempts: 5,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 50,
      ...options,
    });
    clients.push(created);
    return created;
  }

  before(async () => {
    node = await startMirrorNode({
      snapshotTimestamp,
      tokens: [
        bigToken,
        { tokenId: '0.0.77', name: 'Small', symbol: 'SML', decimals: 2, totalSupply: 1000n, holders: generateHolders({ count: 250, seed: 3 }) },
      ],
    });
  });

  afterEach(async () => {
    node.setFaults({});
    node.resetStats();
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  after(() => node.close());

  describe('balancePages', () => {
    it('reads 10,000 holders exactly, balances above 2^53 included, all at one timestamp', async () => {
      const { rows, pages } = await readAll(client(), bigTokenId, snapshotTimestamp);
      expect(rows).to.have.length(10_000);
      expect(rows).to.deep.equal(expectedBig);
      expect(pages.every((p) => p.timestamp === snapshotTimestamp)).to.equal(true);
      expect(node.stats.balanceTimestamps).to.have.length(pages.length);
      expect(new Set(node.stats.balanceTimestamps)).to.deep.equal(new Set([snapshotTimestamp]));
    });

    it('stays on the pinned snapshot while a newer one is published mid-read', async () => {
      const local = await startMirrorNode({ snapshotTimestamp, tokens: [{ ...bigToken, holders: bigHolders.slice(0, 1000) }] });
      try {
        const mirror = createMirrorClient({ baseUrl: local.url, rps: 0, requestTimeoutMs: 2000, maxAttempts: 2 });
        clients.push(mirror);
        const rows: Array<{ account: string; balance: string }> = [];
        let published = false;
        for await (const page of mirror.balancePages(bigTokenId, snapshotTimestamp)) {
          rows.push(...page.holders);
          if (!published) {
            const changed = bigHolders.slice(0, 1000).map((h) => ({ account: h.account, balance: h.balance + 1n }));
            local.publishSnapshot('1716886761.000000000', { [bigTokenId]: changed });
            published = true;
          }
        }
        expect(rows).to.deep.equal(expectedRows(bigHolders.slice(0, 1000)));
        expect(await mirror.latestTimestamp()).to.equal('1716886761.000000000');
      } finally {
        await local.close();
      }
    });

    it('resumes after a checkpoint account and yields the same rows as one run', async () => {
      const mirror = client();
      const firstPart: Array<{ account: string; balance: string }> = [];
      let checkpoint: string | null = null;
      let pageCount = 0;
      for await (const page of mirror.balancePages(bigTokenId, snapshotTimestamp)) {
        firstPart.push(...page.holders);
        checkpoint = page.lastAccount;
        if (++pageCount === 37) break;
      }
      const rest = await readAll(mirror, bigTokenId, snapshotTimestamp, checkpoint as string);
      expect(firstPart.concat(rest.rows)).to.deep.equal(expectedBig);
    });

    it('refuses next links that leave the origin, the path or the query', async () => {
      const hostile: Array<[string, (next: string) => string]> = [
        ['another origin', (next) => `http://evil.example${next}`],
        ['a protocol-relative origin', (next) => `//evil.example${next}`],
        ['another port', (next) => `http://127.0.0.1:1${next}`],
        ['another token', (next) => next.replace(bigTokenId, '0.0.77')],
        ['another path', (next) => next.replace('/balances', '/balances/../../accounts')],
        ['another timestamp', (next) => next.replace(snapshotTimestamp, '1716886761.000000000')],
        ['a cursor going backwards', (next) => next.replace(/account\.id=gt:[0-9.]+/, 'account.id=gt:0.0.1')],
      ];
      for (const [what, rewrite] of hostile) {
        node.setFaults({ rewriteNext: rewrite });
        node.resetStats();
        const error = await rejectionOf(readAll(client(), bigTokenId, snapshotTimestamp));
        expect(error, what).to.be.instanceOf(MirrorProtocolError);
        expect(error.message, what).to.match(/refusing next link/);
        expect(node.stats.requests, what).to.equal(1);
      }
    });

    it('follows next links written without the proxy path prefix, under the configured prefix', async () => {
      const proxied = await startMirrorNode({ snapshotTimestamp, pathPrefix: '/hedera/mirror', tokens: [bigToken] });
      try {
        const mirror = createMirrorClient({ baseUrl: proxied.url, rps: 0, requestTimeoutMs: 2000, maxAttempts: 1 });
        clients.push(mirror);
        expect((await readAll(mirror, bigTokenId, snapshotTimestamp)).rows).to.deep.equal(expectedBig);
      } finally {
        await proxied.close();
      }
    });

    it('rejects rows that are not exact non-negative integers or valid accounts', async () => {
      const corruptions: Array<[string, (body: string) => string]> = [
        ['fraction', (body) => body.replace(/"balance":(\d+)/, '"balance":$1.5')],
        ['negative', (body) => body.replace(/"balance":(\d+)/, '"balance":-$1')],
        ['exponent', (body) => body.replace(/"balance":(\d+)/, '"balance":1e30')],
        ['string', (body) => body.replace(/"balance":(\d+)/, '"balance":"$1"')],
        ['bad account', (body) => body.replace(/"account":"[0-9.]+"/, '"account":"0.0.01"')],
        ['no balances', (body) => body.replace('"balances"', '"rows"')],
        ['unsorted', (body) => body.replace(/"account":"([0-9.]+)"/, '"account":"9.9.9"')],
      ];
      for (const [what, corrupt] of corruptions) {
        node.setFaults({ rewriteBody: (body, path) => (path.endsWith('/balances') ? corrupt(body) : body) });
        const error = await rejectionOf(readAll(client(), bigTokenId, snapshotTimestamp));
        expect(error, what).to.be.instanceOf(MirrorProtocolError);
      }
    });

    it('rejects pages from different snapshots or from after the requested timestamp', async () => {
      let calls = 0;
      node.setFaults({ rewriteBody: (body) => (++calls === 2 ? body.replace(snapshotTimestamp, '1716880000.000000000') : body) });
      expect((await rejectionOf(readAll(client(), bigTokenId, snapshotTimestamp))).message).to.match(/moved from snapshot/);
      node.setFaults({ rewriteBody: (body) => body.replace(snapshotTimestamp, '1716889999.000000000') });
      expect((await rejectionOf(readAll(client(), bigTokenId, snapshotTimestamp))).message).to.match(/got a snapshot from/);
    });

    it('bounds the number of pages', async () => {
      const error = await rejectionOf(readAll(client({ balancePagesMax: 3 }), bigTokenId, snapshotTimestamp));
      expect(error).to.be.instanceOf(MirrorProtocolError);
      expect(error.message).to.match(/more than 3 pages/);
    });

    it('yields one empty page for a token without holders', async () => {
      const { rows, pages } = await readAll(client(), '0.0.4242', snapshotTimestamp);
      expect(rows).to.deep.equal([]);
      expect(pages).to.deep.equal([{ holders: [], timestamp: null, lastAccount: null }]);
    });
  });

  describe('politeness and resilience', () => {
    it('with rps below the server limit, gets no 429 and keeps to its rate', async () => {
      const limited = await startMirrorNode({ snapshotTimestamp, rateLimitRps: 20, tokens: [{ ...bigToken, holders: bigHolders.slice(0, 2500) }] });
      try {
        const mirror = createMirrorClient({ baseUrl: limited.url, rps: 15, requestTimeoutMs: 2000, maxAttempts: 1 });
        clients.push(mirror);
        const startedMs = performance.now();
        const { rows } = await readAll(mirror, bigTokenId, snapshotTimestamp);
        const elapsedMs = performance.now() - startedMs;
        expect(rows).to.deep.equal(expectedRows(bigHolders.slice(0, 2500)));
        expect(limited.stats.tooManyRequests).to.equal(0);
        expect(elapsedMs).to.be.at.least(((limited.stats.requests - 1) * 1000) / 15 - 5);
      } finally {
        await limited.close();
      }
    });

    it('close() fails a call waiting for its turn under the limit, and every later call, without sending them', async () => {
      const mirror = client({ rps: 1 });
      const before = node.stats.requests;
      await mirror.latestTimestamp();
      const waiting = mirror.latestTimestamp();
      await mirror.close();
      expect((await rejectionOf(waiting)).name).to.equal('MirrorClientClosedError');
      expect((await rejectionOf(mirror.latestTimestamp())).name).to.equal('MirrorClientClosedError');
      expect(node.stats.requests - before, 'only the first call reached the node').to.equal(1);
    });

    it('without a client limit, runs into 429s and still completes exactly by honouring X-Retry-In', async () => {
      const limited = await startMirrorNode({ snapshotTimestamp, rateLimitRps: 40, tokens: [{ ...bigToken, holders: bigHolders.slice(0, 6000) }] });
      try {
        const mirror = createMirrorClient({ baseUrl: limited.url, rps: 0, requestTimeoutMs: 2000, maxAttempts: 8, retryBaseDelayMs: 1 });
        clients.push(mirror);
        const { rows } = await readAll(mirror, bigTokenId, snapshotTimestamp);
        expect(rows).to.deep.equal(expectedRows(bigHolders.slice(0, 6000)));
        expect(limited.stats.tooManyRequests).to.be.greaterThan(0);
      } finally {
        await limited.close();
      }
    });

    it('completes exactly through injected 429s, 5xx, slow answers, cut bodies and garbage', async () => {
      node.setFaults({
        throttleEveryNth: 9, xRetryIn: '15ms',
        failEveryNth: 7, failStatus: 503, retryAfter: '0',
        delayMs: 400, delayEveryNth: 11,
        cutEveryNth: 13,
        garbageEveryNth: 17,
      });
      const events: Array<{ status: number | null; error: string | null }> = [];
      const mirror = client({ requestTimeoutMs: 200, maxAttempts: 6, onRequest: (e) => events.push(e) });
      const { rows } = await readAll(mirror, bigTokenId, snapshotTimestamp);
      expect(rows).to.deep.equal(expectedBig);
      expect(node.stats.faultsInjected).to.be.greaterThan(20);
      const errors = events.map((e) => e.error ?? '').join('\n');
      expect(errors).to.match(/answered 429/).and.match(/answered 503/).and.match(/within 200 ms/)
        .and.match(/not JSON/).and.match(/network error/);
    });

    it('gives up after maxAttempts on a server that always fails, with a typed error', async () => {
      node.setFaults({ alwaysStatus: 503 });
      const error = await rejectionOf(readAll(client({ maxAttempts: 3 }), bigTokenId, snapshotTimestamp));
      expect(error).to.be.instanceOf(MirrorUnavailableError);
      expect((error as MirrorUnavailableError).attempts).to.equal(3);
      expect((error as MirrorUnavailableError).upstreamStatus).to.equal(503);
      expect(error).to.include({ code: 'MIRROR_UNAVAILABLE', status: 503, retryable: true });
      expect(node.stats.requests).to.equal(3);
    });

    it('gives up on timeouts after maxAttempts', async () => {
      node.setFaults({ delayMs: 300 });
      const error = await rejectionOf(client({ maxAttempts: 2, requestTimeoutMs: 50 }).getToken(bigTokenId));
      expect(error).to.be.instanceOf(MirrorUnavailableError);
      expect(error.message).to.match(/2 attempt\(s\).*within 50 ms/);
    });

    it('gives up on bodies that are never JSON, as a protocol error', async () => {
      node.setFaults({ garbageEveryNth: 1 });
      const error = await rejectionOf(client({ maxAttempts: 3 }).getToken(bigTokenId));
      expect(error).to.be.instanceOf(MirrorProtocolError);
      expect(node.stats.requests).to.equal(3);
    });

    it('does not retry 4xx other than 429', async () => {
      node.setFaults({ alwaysStatus: 400 });
      const error = await rejectionOf(client().latestTimestamp());
      expect(error).to.be.instanceOf(MirrorRequestError);
      expect(node.stats.requests).to.equal(1);
    });

    it('waits at least what Retry-After asks before retrying', async () => {
      node.setFaults({ failEveryNth: 1, failStatus: 503, retryAfter: '1' });
      const mirror = client({ maxAttempts: 2, retryBaseDelayMs: 1 });
      const startedMs = performance.now();
      await rejectionOf(mirror.getToken(bigTokenId));
      expect(performance.now() - startedMs).to.be.at.least(990);
    });
  });

  describe('getToken and latestTimestamp', () => {
    it('returns token info with the supply exact', async () => {
      expect(await client().getToken(bigTokenId)).to.deep.equal({
        tokenId: bigTokenId, name: 'Large token', symbol: 'LRG', decimals: 8,
        totalSupply: '123456789012345678901234567890', type: 'FUNGIBLE_COMMON', treasury: '0.0.98',
      });
    });

    it('throws HederaTokenNotFoundError (code HEDERA_TOKEN_NOT_FOUND, 404) on 404, without retrying', async () => {
      const error = await rejectionOf(client().getToken('0.0.4242'));
      expect(error).to.be.instanceOf(HederaTokenNotFoundError);
      expect(error).to.include({ code: 'HEDERA_TOKEN_NOT_FOUND', status: 404 });
      expect(node.stats.requests).to.equal(1);
    });

    it('validates the token id, checksum included, before any request', async () => {
      expect(await rejectionOf(client().getToken('0.0.05005'))).to.have.property('code', 'INVALID_ENTITY_ID');
      expect(await rejectionOf(client().getToken('0.0.123-vfmkw'))).to.be.instanceOf(EntityIdChecksumError);
      expect(await rejectionOf(client({ network: 'testnet' }).getToken('0.0.5005-aaaaa'))).to.be.instanceOf(EntityIdChecksumError);
      expect(node.stats.requests).to.equal(0);
    });

    it('rejects token info of the wrong shape', async () => {
      node.setFaults({ rewriteBody: (body) => body.replace('"decimals":"8"', '"decimals":"-8"') });
      expect(await rejectionOf(client().getToken(bigTokenId))).to.be.instanceOf(MirrorProtocolError);
      node.setFaults({ rewriteBody: (body) => body.replace(`"token_id":"${bigTokenId}"`, '"token_id":"0.0.1"') });
      expect(await rejectionOf(client().getToken(bigTokenId))).to.be.instanceOf(MirrorProtocolError);
      node.setFaults({ rewriteBody: () => '[]' });
      expect(await rejectionOf(client().getToken(bigTokenId))).to.be.instanceOf(MirrorProtocolError);
    });

    it('reports the latest balance snapshot timestamp', async () => {
      expect(await client().latestTimestamp()).to.equal(snapshotTimestamp);
    });
  });

  describe('retry hints', () => {
    it('parses X-Retry-In Go durations and prefers them to Retry-After', () => {
      expect(parseGoDurationMs('1.5s')).to.equal(1500);
      expect(parseGoDurationMs('250ms')).to.equal(250);
      expect(parseGoDurationMs('1m30s')).to.equal(90_000);
      expect(parseGoDurationMs('982.312µs')).to.be.closeTo(0.982312, 1e-9);
      expect(parseGoDurationMs('soon')).to.equal(null);
      expect(retryHintMs(new Headers({ 'x-retry-in': '105.849351ms', 'retry-after': '1' }))).to.be.closeTo(105.849351, 1e-9);
    });

    it('parses Retry-After as seconds or as an HTTP date', () => {
      expect(retryHintMs(new Headers({ 'retry-after': '3' }))).to.equal(3000);
      const nowMs = Date.parse('Sun, 22 Nov 2026 18:00:00 GMT');
      expect(retryHintMs(new Headers({ 'retry-after': 'Sun, 22 Nov 2026 18:00:02 GMT' }), nowMs)).to.equal(2000);
      expect(retryHintMs(new Headers({ 'retry-after': 'whenever' }))).to.equal(null);
      expect(retryHintMs(new Headers())).to.equal(null);
    });
  });
});
