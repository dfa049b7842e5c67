// The dashboard's entry: sign-in state, the hash router (#/tokens, #/tokens/SYM, #/snapshots,
// #/schedules) and the live connection. Each view's render(root, ctx) returns its cleanup.
import { createApi } from './api.js';
import { errorBox, fill, h } from './dom.js';
import { createLive } from './live.js';
import { claimsOf, clearToken, storedToken, storeToken, takeTokenFromLocation } from './session.js';
import { renderSchedules } from './views/schedules.js';
import { renderSignIn } from './views/signin.js';
import { renderSnapshots } from './views/snapshots.js';
import { renderToken } from './views/token.js';
import { renderTokens } from './views/tokens.js';

const view = document.getElementById('view');
const alerts = document.getElementById('alerts');
let session = null; // { token, claims, api, live }
let cleanup = () => {};
let config = { devTokens: false };

function alert(message) {
  fill(alerts, errorBox({ message }), h('button', { type: 'button', class: 'dismiss', onclick: () => fill(alerts) }, 'Dismiss'));
}

function signOut(message) {
  clearToken();
  session?.live.close();
  clearTimeout(session?.expiry);
  session = null;
  if (message) alert(message);
  route();
}

function signIn(token) {
  const claims = claimsOf(token);
  if (!claims) throw new Error('this is not a JWT (three base64url parts separated by dots)');
  if (claims.expiresAtMs !== null && claims.expiresAtMs <= Date.now()) throw new Error('this token has expired');
  storeToken(token);
  const api = createApi(() => token, (error) => signOut(`Signed out: ${error.message}`));
  const live = createLive(token, {
    onStatus: (status) => {
      const el = document.getElementById('live-status');
      el.textContent = status;
      el.dataset.status = status;
    },
    onUnauthorized: (message) => signOut(`Signed out: ${message}`),
  });
  // Sign out when the token expires (setTimeout's bound is about 24.8 days; later ones wait for a 401).
  const leftMs = claims.expiresAtMs === null ? null : claims.expiresAtMs - Date.now();
  const expiry = leftMs !== null && leftMs < 2 ** 31 - 1 ? setTimeout(() => signOut('Signed out: the token has expired'), leftMs) : null;
  session = { token, claims, api, live, expiry };
  fill(alerts);
}

function parseHash() {
  const [path, query = ''] = window.location.hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(query) };
}

function header() {
  const signedIn = Boolean(session);
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('who').hidden = !signedIn;
  // A non-admin gets no schedule controls at all (the API refuses them anyway).
  document.getElementById('nav-schedules').hidden = !session?.claims.admin;
  document.getElementById('account').textContent = signedIn ? `${session.claims.sub ?? '?'}${session.claims.admin ? ' (admin)' : ''}` : '';
  const current = parseHash().parts[0] ?? 'tokens';
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.view === current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function route() {
  cleanup();
  cleanup = () => {};
  header();
  if (!session) {
    cleanup = renderSignIn(view, { config, signIn: (token) => {
      signIn(token);
      if (window.location.hash === '#/tokens') route();
      else window.location.hash = '#/tokens';
    } });
    return;
  }
  const { parts, params } = parseHash();
  const ctx = { ...session, params, navigate: (hash) => { window.location.hash = hash; } };
  try {
    if (parts[0] === 'tokens' && parts[1]) cleanup = renderToken(view, ctx, parts[1]);
    else if (parts[0] === 'snapshots') cleanup = renderSnapshots(view, ctx);
    else if (parts[0] === 'schedules') cleanup = renderSchedules(view, ctx);
    else cleanup = renderTokens(view, ctx);
  } catch (error) {
    fill(view, errorBox(error));
  }
}

async function boot() {
  const fromLink = takeTokenFromLocation();
  if (fromLink === 'malformed') alert('The link does not hold a JWT (#token=<header>.<payload>.<signature>); sign in below.');
  try {
    const response = await fetch('/dashboard/config.json', { signal: AbortSignal.timeout(10_000) });
    if (response.ok) config = await response.json();
  } catch { /* the sign-in view works without it */ }
  document.getElementById('sign-out').addEventListener('click', () => signOut());
  const token = storedToken();
  if (token) {
    try { signIn(token); } catch (error) { clearToken(); alert(`Signed out: ${error.message}`); }
  }
  window.addEventListener('hashchange', route);
  route();
}

void boot();
