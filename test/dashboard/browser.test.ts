// The dashboard in a real browser: headless Debian Chromium (playwright-core) against start()
// as `npm start` runs it (REST, Socket.IO, the snapshot worker, Helia) over the shared Redis and
// the local mirror node. One browser for the file, a fresh context (own sessionStorage) per
// sign-in. Each view's screenshot goes to test/artifacts/ (git-ignored) for a person to look at.
// Every test also fails on a page error or a Content-Security-Policy violation.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadConfig, type Env } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { start, type Started } from '../../src/main.ts';
import { launchChromium } from '../../testkit/browser.ts';
import { freePort } from '../../testkit/free-port.ts';
import { generateHolders, startMirrorNode, type FakeMirrorNode } from '../../testkit/mirror-node.ts';
import { sharedRedisUrl, uniqueSymbol } from '../../testkit/shared-redis.ts';
import { until } from '../../testkit/wait.ts';
import { call, forge, mint, testSecret } from '../http/support.ts';

// page.evaluate callbacks run in the browser, whose globals the Node typings lack.
declare const window: any;
declare const document: any;

const artifactsDir = fileURLToPath(new URL('../artifacts/', import.meta.url));
const hederaTokenId = '0.0.880001';
const waitMs = 20_000;

describe('dashboard in a browser', function () {
  this.timeout(120_000);
  let browser: Browser;
  let node: FakeMirrorNode;
  let server: Started;
  let env: Env;
  let dataDir: string;
  let url: string;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const admin = mint('ops', { admin: true });
  const alice = mint('alice');
  const symbol = uniqueSymbol('D');
  const holders = generateHolders({ count: 3_000, seed: 17 });

  const startServer = async () => { server = await start(loadConfig(env), { logger: createLogger('silent') }); };

  /** A new context (its own sessionStorage) and page; page errors and CSP reports are collected. */
  async function openPage(viewport = { width: 1200, height: 900 }): Promise<Page> {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(waitMs);
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to (load|execute|apply)/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
    });
    return page;
  }

  async function signedIn(token: string, hash = '#/tokens', viewport?: { width: number; height: number }): Promise<Page> {
    const page = await openPage(viewport);
    await page.goto(`${url}/#token=${token}`);
    await page.waitForSelector('#nav:not([hidden])');
    if (hash !== '#/tokens') await page.evaluate((h) => { window.location.hash = h; }, hash);
    return page;
  }

  const screenshot = (page: Page, name: string) => page.screenshot({ path: join(artifactsDir, `${name}.png`), fullPage: true });
  const rest = (method: string, path: string, body?: unknown, token = admin) => call(url, method, path, { token, ...(body === undefined ? {} : { body }) });

  before(async () => {
    mkdirSync(artifactsDir, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'tally-dashboard-'));
    node = await startMirrorNode({
      tokens: [{ tokenId: hederaTokenId, name: 'Dashboard Token', symbol: 'DASH', decimals: 2, totalSupply: holders.reduce((s, h) => s + h.balance, 0n), holders }],
      faults: { delayMs: 40 }, // 30 pages of 100: progress has time to show
    });
    env = {
      REDIS_URL: sharedRedisUrl(), JWT_SECRET: testSecret, PORT: String(await freePort()), HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0',
      DATA_DIR: dataDir, MIRROR_NODE_URL: node.url, HEDERA_NETWORK: 'testnet', MIRROR_RPS: '1000', JOB_POLL_MS: '100',
      JOB_LOCK_LIFETIME_MS: '5000', SNAPSHOT_BACKOFF_MS: '50', SCHEDULE_MIN_INTERVAL_MS: '1000', SHUTDOWN_TIMEOUT_MS: '10000',
      TALLY_NAMESPACE: `dash${uniqueSymbol().toLowerCase()}`, LOG_LEVEL: 'silent', DASHBOARD_DEV_TOKENS: '1',
    };
    await startServer();
    url = server.url!;
    browser = await launchChromium();
    const created = await rest('POST', '/v1/tokens', { symbol, name: 'Dashboard Gold', decimals: 6, totalSupply: '1234567890123456789012345', treasury: 'treasury' });
    expect(created.status, created.text).to.equal(201);
    for (const [to, amount] of [['alice', '500000000'], ['carol', '1500000']] as const) {
      expect((await rest('POST', `/v1/tokens/${symbol}/transfers`, { from: 'treasury', to, amount })).status).to.equal(201);
    }
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    const seen = problems.splice(0);
    expect(seen, seen.join('\n')).to.deep.equal([]);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await node?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('signs in by pasting a JWT, by keyboard alone; a token the API refuses shows its message and is not kept', async () => {
    const page = await openPage();
    await page.goto(url);
    await page.waitForSelector('#jwt');
    await screenshot(page, 'sign-in');
    // A forged token: the API's own message, no session.
    await page.fill('#jwt', forge({ alg: 'HS256', typ: 'JWT' }, { sub: 'mallory', roles: ['admin'] }, 'not-the-secret-not-the-secret-xx'));
    await page.click('[data-testid="sign-in"]');
    await page.waitForSelector('.error');
    expect(await page.textContent('.error strong')).to.equal('the token is invalid');
    expect(await page.evaluate(() => sessionStorage.length)).to.equal(0);
    // Keyboard only: the textarea has focus, Tab reaches the button, Enter signs in.
    await page.fill('#jwt', '');
    await page.focus('#jwt');
    await page.keyboard.type(alice);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).to.equal('sign-in');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="token-row"]');
    expect(await page.textContent('[data-testid="account"]')).to.equal('alice');
    expect(await page.evaluate(() => Object.values(sessionStorage))).to.deep.equal([alice]);
  });

  it('signs in from a /#token= link: the token moves to sessionStorage and leaves the address bar and history', async () => {
    const page = await signedIn(admin);
    expect(page.url()).to.equal(`${url}/#/tokens`);
    expect(await page.evaluate(() => Object.values(sessionStorage))).to.deep.equal([admin]);
    expect(await page.textContent('[data-testid="account"]')).to.equal('ops (admin)');
    await page.waitForSelector('[data-testid="live-status"][data-status="live"]');
    // Replaced, not pushed: Back leaves the page instead of bringing the token back.
    await page.goBack();
    expect(page.url()).to.equal('about:blank');
    await page.goForward();
    expect(page.url()).to.equal(`${url}/#/tokens`);
    await page.waitForSelector('#nav:not([hidden])');
    // Signing out forgets it.
    await page.click('#sign-out');
    await page.waitForSelector('#jwt');
    expect(await page.evaluate(() => sessionStorage.length)).to.equal(0);
  });

  it('clears a malformed #token= link from the address bar too, keeping nothing', async () => {
    const page = await openPage();
    await page.goto(`${url}/#token=not-a-jwt`);
    await page.waitForSelector('#jwt');
    expect(page.url()).to.equal(`${url}/#/tokens`);
    expect(await page.textContent('#alerts .error strong')).to.match(/^The link does not hold a JWT/);
    expect(await page.evaluate(() => window.sessionStorage.length)).to.equal(0);
  });

  it('mints a dev token with the development button (the server runs with DASHBOARD_DEV_TOKENS=1)', async () => {
    const page = await openPage();
    await page.goto(url);
    await page.fill('#dev-sub', 'devops');
    await page.click('[data-testid="dev-token"]');
    await page.waitForSelector('#nav-schedules:not([hidden])');
    expect(await page.textContent('[data-testid="account"]')).to.equal('devops (admin)');
  });

  it('lists tokens with exact supplies in the token decimals, a prefix search and paging', async () => {
    const prefix = uniqueSymbol('S').slice(0, 8);
    // 23 tokens with the prefix: a page of 20, then one of 3.
    const symbols = Array.from({ length: 23 }, (_, i) => `${prefix}${String.fromCharCode(65 + i)}`);
    await Promise.all(symbols.map(async (s, i) => {
      const created = await rest('POST', '/v1/tokens', { symbol: s, name: `Search ${i}`, decimals: 18, totalSupply: `${i + 1}000000000000000000000000001`, treasury: 'treasury' });
      expect(created.status).to.equal(201);
    }));
    const page = await signedIn(alice);
    await page.waitForSelector('[data-testid="token-row"]');
    await screenshot(page, 'tokens');
    await page.fill('#token-search', prefix.toLowerCase()); // uppercased as symbols are
    await page.press('#token-search', 'Enter');
    await page.waitForSelector(`[data-testid="token-row"][data-symbol="${symbols[19]}"]`);
    expect(page.url()).to.equal(`${url}/#/tokens?prefix=${prefix}`);
    const rows = await page.$$eval('[data-testid="token-row"]', (els) => els.map((r) => [...r.children].map((c) => c.textContent)));
    expect(rows.map((r) => r[0])).to.deep.equal(symbols.slice(0, 20));
    expect(rows.slice(0, 2)).to.deep.equal([
      [symbols[0], 'Search 0', '18', '1,000,000,000.000000000000000001', '1,000,000,000.000000000000000001', '1'],
      [symbols[1], 'Search 1', '18', '2,000,000,000.000000000000000001', '2,000,000,000.000000000000000001', '1'],
    ]);
    // The next page holds the other 3 and is the last; First goes back.
    await page.click('[data-testid="next-page"]');
    await page.waitForSelector(`[data-testid="token-row"][data-symbol="${symbols[22]}"]`);
    expect(await page.$$eval('[data-testid="token-row"]', (els) => els.map((r) => r.getAttribute('data-symbol')))).to.deep.equal(symbols.slice(20));
    expect(await page.isDisabled('[data-testid="next-page"]')).to.equal(true);
    await page.click('.pager button:text("First page")');
    await page.waitForSelector(`[data-testid="token-row"][data-symbol="${symbols[0]}"]`);
  });

  it('shows a transfer made over REST on the token page without a reload: holders, chart and a live event', async () => {
    const page = await signedIn(admin, `#/tokens/${symbol}`);
    await page.waitForSelector('[data-testid="holder-row"][data-account="alice"]');
    await page.waitForSelector('[data-testid="live-status"][data-status="live"]');
    expect(await page.textContent('[data-fact="Total supply"]')).to.equal('1,234,567,890,123,456,789.012345');
    const supply = 1234567890123456789012345n;
    const share = (part: bigint) => { const bp = (part * 10_000n) / supply; return `${bp / 100n}.${String(bp % 100n).padStart(2, '0')}`; };
    expect(await page.getAttribute('[data-testid="concentration-chart"] g[data-top="1"]', 'data-share')).to.equal(share(supply - 501_500_000n));
    expect(await page.$$eval('[data-testid="event-row"]', (els) => els.length)).to.equal(3); // init and two transfers (history)

    const moved = await rest('POST', `/v1/tokens/${symbol}/transfers`, { from: 'treasury', to: 'bob', amount: '617283945061728394506172' });
    expect(moved.status).to.equal(201);
    // No reload: the row appears, formatted with 6 decimals, and the chart follows.
    const bob = page.locator('[data-testid="holder-row"][data-account="bob"] td[data-balance]');
    await bob.waitFor();
    expect(await bob.textContent()).to.equal('617,283,945,061,728,394.506172');
    // bob now holds the most (just under half), the treasury the rest but 501.5 tokens.
    const bobShare = share(617283945061728394506172n);
    await page.waitForFunction((expected) => document.querySelector('[data-testid="concentration-chart"] g[data-top="1"]')?.getAttribute('data-share') === expected, bobShare);
    expect(await page.getAttribute('[data-testid="concentration-chart"] g[data-top="10"]', 'data-share')).to.equal('100.00');
    const liveRow = page.locator(`.live[data-testid="event-row"][data-event-id="${moved.body.eventId}"]`);
    await liveRow.waitFor();
    expect(await liveRow.textContent()).to.include('treasury → bob: 617,283,945,061,728,394.506172');
    expect(await page.evaluate(() => window.performance.getEntriesByType('navigation').length)).to.equal(1);
    await screenshot(page, 'token');
  });

  it('shows a user the recent events of their own account only, as the API allows', async () => {
    const page = await openPage();
    const eventsQuery = page.waitForRequest((r) => r.url().includes(`/v1/tokens/${symbol}/events?`));
    await page.goto(`${url}/#token=${alice}`);
    await page.evaluate((h) => { window.location.hash = h; }, `#/tokens/${symbol}`);
    // "Recent": the last 24 hours by default, as an event id (stream ids start with their ms).
    const query = new URL((await eventsQuery).url()).searchParams;
    expect(query.get('account')).to.equal('alice');
    const afterMs = Number(/^(\d+)-0$/.exec(query.get('after')!)![1]);
    expect(Math.abs(afterMs - (Date.now() - 86_400_000))).to.be.below(60_000);
    await page.waitForSelector('[data-testid="event-row"]');
    const rows = await page.$$eval('[data-testid="event-row"]', (els) => els.map((e) => e.textContent ?? ''));
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include('treasury → alice: 500');
    // From the start: the same single event of alice's (the API filters), and no `after`.
    const fromStart = page.waitForRequest((r) => r.url().includes(`/v1/tokens/${symbol}/events?`));
    await page.selectOption('#events-since', 'start');
    expect(new URL((await fromStart).url()).searchParams.has('after')).to.equal(false);
    await page.waitForSelector('[data-testid="event-row"]');
    expect(await page.$$eval('[data-testid="event-row"]', (els) => els.length)).to.equal(1);
  });

  it('requests a snapshot and watches its progress bar reach 100 and the CID appear; downloads work; API errors show as its message', async () => {
    const page = await signedIn(alice, '#/snapshots');
    await page.waitForSelector('#snapshot-token');
    // A malformed id: the API's message, no row.
    await page.fill('#snapshot-token', '0.0.abc');
    await page.click('[data-testid="request-snapshot"]');
    await page.waitForSelector('.form-message .error');
    const refused = await rest('POST', '/v1/snapshots', { tokenId: '0.0.abc' }, alice);
    expect(await page.textContent('.form-message .error strong')).to.equal(refused.body.error.message);
    expect(await page.textContent('.form-message .error .code')).to.equal(` ${refused.body.error.code}`);

    // Record every value the bar shows, as it changes.
    await page.evaluate(() => {
      window.seen = [];
      window.runningHolders = [];
      new window.MutationObserver((records: { target: any }[]) => {
        for (const r of records) {
          const el = r.target;
          if (el.getAttribute('role') !== 'progressbar') continue;
          window.seen.push(Number(el.getAttribute('aria-valuenow')));
          const row = el.closest('[data-testid="snapshot-row"]');
          if (row.querySelector('[data-testid="snapshot-status"]').textContent === 'running') {
            window.runningHolders.push({ holders: row.querySelector('[data-fact="Holders"]').textContent, rate: row.querySelector('[data-fact="Rate"]')?.textContent ?? null });
          }
        }
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['aria-valuenow'] });
    });
    await page.fill('#snapshot-token', hederaTokenId);
    await page.click('[data-testid="request-snapshot"]');
    await page.waitForSelector('.form-message .ok');
    const snapshotId = /Requested snapshot (\S+)\./.exec((await page.textContent('.form-message .ok'))!)![1]!;
    const row = page.locator(`[data-testid="snapshot-row"][data-snapshot-id="${snapshotId}"]`);
    await row.locator('[role="progressbar"][aria-valuenow="100"]').waitFor({ timeout: 60_000 });
    const cid = row.locator('[data-testid="snapshot-cid"]');
    await cid.waitFor();
    const record = (await rest('GET', `/v1/snapshots/${snapshotId}`, undefined, alice)).body;
    expect(record).to.include({ status: 'completed', holders: 3_000 });
    expect(await cid.textContent()).to.equal(record.cid);
    expect(await row.locator('[data-testid="snapshot-status"]').textContent()).to.equal('completed');
    const seen: number[] = await page.evaluate(() => window.seen);
    expect(seen.at(-1)).to.equal(100);
    expect(seen.some((v) => v > 0 && v < 100), `values shown: ${seen.join(',')}`).to.equal(true); // it moved, not jumped
    expect(seen).to.deep.equal([...seen].sort((a, b) => a - b)); // never backwards
    // While it ran, the row showed the holders written so far (from the progress events) and a rate.
    const running: { holders: string; rate: string | null }[] = await page.evaluate(() => window.runningHolders);
    const counts = running.map((r) => Number(r.holders)).filter((n) => Number.isInteger(n));
    expect(counts.some((n) => n > 0 && n < 3_000), JSON.stringify(running)).to.equal(true);
    expect(running.some((r) => /^\d+ holders\/s$/.test(r.rate ?? '')), JSON.stringify(running)).to.equal(true);
    await screenshot(page, 'snapshots');

    // Downloads carry the bearer token (a plain link could not).
    for (const [kind, check] of [['csv', (t: string) => t.startsWith('account,balance\n')], ['ndjson', (t: string) => JSON.parse(t.split('\n')[0]!).tokenId === hederaTokenId]] as const) {
      const [download] = await Promise.all([page.waitForEvent('download'), row.locator(`[data-download="${kind}"]`).click()]);
      expect(download.suggestedFilename()).to.equal(`${hederaTokenId}-${snapshotId}.${kind}`);
      const path = await download.path();
      const text = (await import('node:fs')).readFileSync(path, 'utf8');
      expect(check(text), kind).to.equal(true);
      expect(text.trimEnd().split('\n')).to.have.length(3_001);
    }
    const [car] = await Promise.all([page.waitForEvent('download'), row.locator('[data-download="car"]').click()]);
    expect((await import('node:fs')).statSync(await car.path()).size).to.be.greaterThan(record.bytes);
  });

  it('requests a snapshot with filters, and shows them and its Merkle root once completed', async () => {
    const page = await signedIn(alice, '#/snapshots');
    await page.waitForSelector('#snapshot-token');
    const sorted = holders.map((h) => h.balance).filter((b) => b > 0n).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const minBalance = sorted[Math.floor(sorted.length / 2)]!;
    const excluded = holders.find((h) => h.balance >= minBalance)!.account;
    await page.fill('#snapshot-token', hederaTokenId);
    await page.fill('#snapshot-min-balance', String(minBalance));
    await page.fill('#snapshot-exclude', ` ${excluded} , `);
    await page.click('[data-testid="request-snapshot"]');
    await page.waitForSelector('.form-message .ok');
    const snapshotId = /Requested snapshot (\S+)\./.exec((await page.textContent('.form-message .ok'))!)![1]!;
    const row = page.locator(`[data-testid="snapshot-row"][data-snapshot-id="${snapshotId}"]`);
    const root = row.locator('[data-testid="snapshot-merkle-root"]');
    await root.waitFor({ timeout: 60_000 });
    const record = (await rest('GET', `/v1/snapshots/${snapshotId}`, undefined, alice)).body;
    expect(record.filters).to.deep.equal({ minBalance: String(minBalance), exclude: [excluded] });
    expect(record.holders).to.equal(holders.filter((h) => h.balance >= minBalance && h.account !== excluded).length);
    const merkle = (await rest('GET', `/v1/snapshots/${snapshotId}/merkle`, undefined, alice)).body;
    expect(await root.textContent()).to.equal(merkle.root);
    expect(await row.locator('[data-fact="Filters"]').textContent()).to.equal(`balance >= ${minBalance}; without ${excluded}`);
    await screenshot(page, 'snapshot-filters');
  });

  it('shows a failed snapshot with its error, and an unknown token page with the API message', async () => {
    const page = await signedIn(alice, '#/snapshots');
    await page.fill('#snapshot-token', '0.0.880999'); // the mirror node does not know it: fails at once
    await page.click('[data-testid="request-snapshot"]');
    await page.waitForSelector('.form-message .ok');
    const snapshotId = /Requested snapshot (\S+)\./.exec((await page.textContent('.form-message .ok'))!)![1]!;
    const row = page.locator(`[data-testid="snapshot-row"][data-snapshot-id="${snapshotId}"]`);
    await row.locator('[data-testid="snapshot-error"] .error').waitFor({ timeout: 30_000 });
    const record = (await rest('GET', `/v1/snapshots/${snapshotId}`, undefined, alice)).body;
    expect(record.status).to.equal('failed');
    expect(await row.locator('[data-testid="snapshot-error"] strong').textContent()).to.equal(record.error.message);
    expect(await row.locator('[data-testid="snapshot-error"] .code').textContent()).to.equal(' HEDERA_TOKEN_NOT_FOUND');
    expect(await row.locator('[data-testid="snapshot-status"]').textContent()).to.equal('failed');
    expect(await row.locator('[data-download]').count()).to.equal(0);

    // The status filter shows failed snapshots only.
    await page.selectOption('#filter-status', 'failed');
    await page.click('form[aria-label="Filter snapshots"] button');
    await page.waitForFunction(() => window.location.hash === '#/snapshots?status=failed');
    await page.locator(`[data-testid="snapshot-row"][data-snapshot-id="${snapshotId}"]`).waitFor();
    const shown = await page.$$eval('[data-testid="snapshot-status"]', (els) => els.map((e) => e.textContent));
    expect(shown.length).to.be.greaterThan(0);
    expect(new Set(shown)).to.deep.equal(new Set(['failed']));

    await page.evaluate(() => { window.location.hash = '#/tokens/NOSUCHTOKEN'; });
    await page.waitForSelector('#view .error');
    const missing = await rest('GET', '/v1/tokens/NOSUCHTOKEN', undefined, alice);
    expect(missing.status).to.equal(404);
    expect(await page.textContent('#view .error strong')).to.equal(missing.body.error.message);
    expect(await page.textContent('#view .error .code')).to.equal(` ${missing.body.error.code}`);
  });

  it('reaches every view and control from the keyboard, in order', async () => {
    const page = await signedIn(admin);
    await page.waitForSelector('[data-testid="token-row"]');
    const reached: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => {
        const el = document.activeElement;
        return `${el.tagName.toLowerCase()}:${(el.getAttribute('id') ?? el.textContent ?? '').trim().slice(0, 20)}`;
      }));
    }
    expect(reached.slice(0, 8)).to.deep.equal([
      'a:Skip to content', 'a:Tally', 'a:Tokens', 'a:Snapshots', 'a:nav-schedules', 'button:sign-out', 'input:token-search', 'button:Search',
    ]);
    const firstToken = await page.getAttribute('[data-testid="token-row"]', 'data-symbol');
    expect(reached[8]).to.equal(`a:${firstToken}`); // then each token's link
    // Enter on the focused nav link opens its view.
    await page.focus('#nav a[data-view="snapshots"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#snapshot-token');
  });

  it('signs out with a message when the token expires', async () => {
    const page = await signedIn(mint('brief', { expiresInSeconds: 3 }));
    await page.waitForSelector('#jwt', { timeout: 10_000 });
    expect(await page.textContent('#alerts .error strong')).to.equal('Signed out: the token has expired');
    expect(await page.evaluate(() => window.sessionStorage.length)).to.equal(0);
  });

  it('shows no schedule controls to a non-admin, and the API refuses them anyway', async () => {
    const page = await signedIn(alice);
    expect(await page.isHidden('#nav-schedules')).to.equal(true);
    await page.evaluate(() => { window.location.hash = '#/schedules'; });
    await page.waitForSelector('#view h1:text("Schedules")');
    expect(await page.$$('form, [data-testid="create-schedule"], [data-testid="delete-schedule"]')).to.have.length(0);
    const refused = await rest('POST', '/v1/snapshot-schedules', { tokenId: hederaTokenId, every: '15 minutes' }, alice);
    expect(refused.status).to.equal(403);
    expect(refused.body.error.code).to.equal('FORBIDDEN');
    expect((await rest('GET', '/v1/snapshot-schedules', undefined, alice)).status).to.equal(403);
  });

  it('lets an admin create a schedule (an invalid interval shows the API message) and delete it', async () => {
    const page = await signedIn(admin, '#/schedules');
    await page.waitForSelector('#schedule-every');
    await page.fill('#schedule-token', hederaTokenId);
    await page.fill('#schedule-every', 'every full moon');
    await page.click('[data-testid="create-schedule"]');
    await page.waitForSelector('.form-message .error');
    const invalid = await rest('POST', '/v1/snapshot-schedules', { tokenId: hederaTokenId, every: 'every full moon' });
    expect(invalid.body.error.code).to.equal('INVALID_SCHEDULE');
    expect(await page.textContent('.form-message .error strong')).to.equal(invalid.body.error.message);

    await page.fill('#schedule-every', '15 minutes');
    await page.click('[data-testid="create-schedule"]');
    await page.waitForSelector('.form-message .ok');
    const listed = (await rest('GET', '/v1/snapshot-schedules?limit=100')).body.schedules as { id: string; tokenId: string; every: string }[];
    const created = listed.find((s) => s.tokenId === hederaTokenId)!;
    expect(created).to.include({ tokenId: hederaTokenId });
    const row = page.locator(`[data-testid="schedule-row"][data-schedule-id="${created.id}"]`);
    await row.waitFor();
    await screenshot(page, 'schedules');
    await row.locator('[data-testid="delete-schedule"]').click();
    await row.locator('[data-testid="confirm-delete"]').click();
    await row.waitFor({ state: 'detached' });
    expect((await rest('GET', `/v1/snapshot-schedules/${created.id}`)).status).to.equal(404);
  });

  it('fits a 360 px wide screen without sideways scrolling', async () => {
    for (const [hash, name] of [[`#/tokens/${symbol}`, 'token-360px'], ['#/snapshots', 'snapshots-360px'], ['#/tokens', 'tokens-360px']] as const) {
      const page = await signedIn(admin, hash, { width: 360, height: 740 });
      await page.waitForSelector(hash === '#/snapshots' ? '[data-testid="snapshot-row"]' : hash === '#/tokens' ? '[data-testid="token-row"]' : '[data-testid="holder-row"]');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width, name).to.be.at.most(360);
      await screenshot(page, name);
    }
  });

  it('reconnects after the server restarts and shows live transfers again', async () => {
    const page = await signedIn(admin, `#/tokens/${symbol}`);
    await page.waitForSelector('[data-testid="live-status"][data-status="live"]');
    // The browser's WebSocket does not hold the stop up (src/lifecycle.ts closes it at once).
    expect(await server.stop()).to.deep.equal({ forced: false });
    await page.waitForSelector('[data-testid="live-status"][data-status="reconnecting"]');
    await startServer();
    expect(server.url).to.equal(url);
    await page.waitForSelector('[data-testid="live-status"][data-status="live"]', { timeout: 30_000 });
    // The subscription was sent again: a new transfer arrives live.
    const moved = await rest('POST', `/v1/tokens/${symbol}/transfers`, { from: 'treasury', to: 'dave', amount: '1000000' });
    expect(moved.status).to.equal(201);
    await page.locator(`.live[data-testid="event-row"][data-event-id="${moved.body.eventId}"]`).waitFor();
    await until(async () => (await page.$('[data-testid="holder-row"][data-account="dave"]')) !== null, { what: 'dave among the holders', timeoutMs: waitMs });
  });
});
