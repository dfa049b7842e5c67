// The dashboard's server side: the page and its modules at / and /dashboard/* with a strict
// Content-Security-Policy (and no inline script or style anywhere that would need a weaker one),
// the two vendored libraries through fixed routes only, and the dev-token route, which exists
// only with DASHBOARD_DEV_TOKENS=1 (404 otherwise) and mints tokens the API accepts.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import jwt from 'jsonwebtoken';
import { createApp } from '../../src/app.ts';
import { createJwtVerifier } from '../../src/auth/jwt.ts';
import { createLogger } from '../../src/logger.ts';
import { closeServer } from '../../testkit/http-server.ts';
import { contentSecurityPolicy, dashboardDir } from '../../src/http/dashboard.ts';
import { call, rawCall, startApp, testSecret, type TestApp } from './support.ts';

const dashboardFiles = (readdirSync(dashboardDir, { recursive: true }) as string[]).filter((f) => /\.(html|js|css)$/.test(f));

describe('dashboard (HTTP)', () => {
  let app: TestApp;
  let dev: TestApp;
  before(async () => {
    app = await startApp();
    dev = await startApp({ env: { DASHBOARD_DEV_TOKENS: '1', JWT_ISSUER: 'tally-dev', JWT_AUDIENCE: 'api' } });
  });
  after(async () => { await app?.close(); await dev?.close(); });

  it('serves the page at / with a strict Content-Security-Policy, and its modules under /dashboard/', async () => {
    const page = await call(app.url, 'GET', '/');
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.match(/^text\/html/);
    expect(page.text).to.include('<script type="module" src="/dashboard/app.js"></script>');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).to.equal(contentSecurityPolicy);
    expect(csp).to.include("script-src 'self'").and.include("style-src 'self'").and.include("frame-ancestors 'none'");
    expect(csp).not.to.match(/unsafe-inline|unsafe-eval|\*/);
    expect(page.headers.get('referrer-policy')).to.equal('no-referrer');
    for (const file of dashboardFiles) {
      const reply = await call(app.url, 'GET', `/dashboard/${file}`);
      expect(reply.status, file).to.equal(200);
      expect(reply.headers.get('content-security-policy'), file).to.equal(contentSecurityPolicy);
      expect(reply.text, file).to.equal(readFileSync(join(dashboardDir, file), 'utf8'));
    }
    expect(dashboardFiles).to.include.members(['index.html', 'app.js', 'style.css', 'views/token.js']);
  });

  it('has no inline script, inline style or event-handler attribute that the policy would block', () => {
    for (const file of dashboardFiles.filter((f) => f.endsWith('.html'))) {
      const html = readFileSync(join(dashboardDir, file), 'utf8');
      for (const tag of html.match(/<script\b[^>]*>[\s\S]*?<\/script>/g) ?? []) expect(tag, file).to.match(/^<script[^>]*\ssrc="[^"]+"[^>]*><\/script>$/);
      expect(html, file).not.to.match(/<style\b|\sstyle=|\son[a-z]+=/i);
    }
    for (const file of dashboardFiles.filter((f) => f.endsWith('.js'))) {
      const code = readFileSync(join(dashboardDir, file), 'utf8');
      // Markup from strings (innerHTML), eval-like calls and style attributes would need unsafe-*.
      expect(code, file).not.to.match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\(\s*'style'|'style':/);
    }
  });

  it('serves the Socket.IO client and bignumber.js through fixed names only; nothing else of the disk', async () => {
    const socketIo = await call(app.url, 'GET', '/dashboard/vendor/socket.io.esm.min.js');
    expect(socketIo.status).to.equal(200);
    expect(socketIo.headers.get('content-type')).to.match(/^text\/javascript/);
    expect(socketIo.text).to.match(/^\/\*!\n \* Socket\.IO v4\./).and.include('as io');
    const bignumber = await call(app.url, 'GET', '/dashboard/vendor/bignumber.mjs');
    expect(bignumber.status).to.equal(200);
    expect(bignumber.text).to.include('export default BigNumber');
    for (const path of ['/dashboard/vendor/package.json', '/dashboard/vendor/..%2F..%2Fpackage.json', '/dashboard/../package.json', '/dashboard/%2e%2e/src/config.ts',
      '/dashboard/..%2Fhttp%2Fdashboard.ts', '/dashboard/vendor/__proto__', '/dashboard/vendor/constructor', '/dashboard/nope.js', '/dashboard/.hidden']) {
      const reply = await rawCall(app.url, 'GET', path);
      expect(reply.status, path).to.be.oneOf([400, 404]);
      expect(reply.body?.error?.code, path).to.be.oneOf(['NOT_FOUND', 'INVALID_ARGUMENT']);
    }
  });

  it('has no dev-token route without DASHBOARD_DEV_TOKENS (404), and says so in its config', async () => {
    const reply = await call(app.url, 'POST', '/dashboard/dev-token', { body: { sub: 'ops', admin: true } });
    expect(reply.status).to.equal(404);
    expect(reply.body.error.code).to.equal('NOT_FOUND');
    expect((await call(app.url, 'GET', '/dashboard/config.json')).body).to.deep.equal({ devTokens: false });
  });

  it('with DASHBOARD_DEV_TOKENS=1 mints a token the API accepts, with the issuer and audience it enforces', async () => {
    expect((await call(dev.url, 'GET', '/dashboard/config.json')).body).to.deep.equal({ devTokens: true });
    const admin = await call(dev.url, 'POST', '/dashboard/dev-token', { body: { sub: 'ops', admin: true } });
    expect(admin.status).to.equal(200);
    const claims = jwt.verify(admin.body.token, testSecret, { algorithms: ['HS256'], issuer: 'tally-dev', audience: 'api' }) as jwt.JwtPayload;
    expect(claims).to.include({ sub: 'ops' });
    expect(claims.roles).to.deep.equal(['admin']);
    expect(claims.exp! - claims.iat!).to.equal(admin.body.expiresInSeconds);
    const asAdmin = await call(dev.url, 'GET', '/v1/tokens/NOPE/audit', { token: admin.body.token });
    expect(asAdmin.body.error.code).to.equal('TOKEN_NOT_FOUND'); // past authentication and the admin check

    const user = await call(dev.url, 'POST', '/dashboard/dev-token', { body: { sub: 'alice' } });
    expect((jwt.decode(user.body.token) as jwt.JwtPayload).roles).to.deep.equal([]);
    expect((await call(dev.url, 'GET', '/v1/tokens/NOPE/audit', { token: user.body.token })).status).to.equal(403);
  });

  it('answers the dev-token route only to this machine: 403 over another interface', async function () {
    const external = Object.values(networkInterfaces()).flat().find((i) => i?.family === 'IPv4' && !i.internal);
    if (!external) {
      console.log('      (skipped: this machine has no interface but loopback to connect through)');
      this.skip();
    }
    const server = createServer(createApp({ ledger: dev.ledger, redis: dev.redis, config: dev.config, logger: createLogger('silent'), verifier: createJwtVerifier(dev.config.jwt) }));
    server.listen(0, external!.address);
    await once(server, 'listening');
    try {
      const reply = await call(`http://${external!.address}:${(server.address() as AddressInfo).port}`, 'POST', '/dashboard/dev-token', { body: { sub: 'ops', admin: true } });
      expect(reply.status).to.equal(403);
      expect(reply.body.error).to.deep.equal({ code: 'FORBIDDEN', message: 'dev tokens are minted only for requests from this machine (loopback)' });
    } finally {
      await closeServer(server);
    }
  });

  it('refuses a malformed dev-token request with 400 and a catalog code', async () => {
    const cases: [unknown, string][] = [
      [{}, 'INVALID_ARGUMENT'], [{ sub: 'bad account' }, 'INVALID_ARGUMENT'], [{ sub: 'ops', admin: 'yes' }, 'INVALID_ARGUMENT'],
      [{ sub: 'ops', roles: ['admin'] }, 'INVALID_ARGUMENT'], [{ sub: 'x'.repeat(129) }, 'INVALID_ARGUMENT'], [[], 'INVALID_ARGUMENT'],
    ];
    for (const [body, code] of cases) {
      const reply = await call(dev.url, 'POST', '/dashboard/dev-token', { body });
      expect(reply.status, JSON.stringify(body)).to.equal(400);
      expect(reply.body.error.code, JSON.stringify(body)).to.equal(code);
    }
    const text = await call(dev.url, 'POST', '/dashboard/dev-token', { rawBody: 'sub=ops', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(text.status).to.equal(415);
    const large = await call(dev.url, 'POST', '/dashboard/dev-token', { body: { sub: 'ops', pad: 'x'.repeat(2_000) } });
    expect(large.status).to.equal(413);
  });
});
