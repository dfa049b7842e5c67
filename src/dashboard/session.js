// The signed-in JWT lives in sessionStorage (this tab only). A link `/#token=<jwt>` signs in:
// the fragment never reaches the server, and it is moved to sessionStorage and cleared from the
// address bar (and history) at once. Claims are decoded for display only; the API decides.
const storageKey = 'tally.dashboard.token';
const jwtShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Moves a `#token=` fragment into sessionStorage and clears it from the address bar, whatever
 * it holds. Returns 'none' without such a fragment, 'taken', or 'malformed' (nothing is kept).
 */
export function takeTokenFromLocation() {
  const { hash } = window.location;
  if (!hash.startsWith('#token=')) return 'none';
  history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/tokens`);
  const token = decodeURIComponent(hash.slice('#token='.length));
  if (!jwtShape.test(token)) return 'malformed';
  sessionStorage.setItem(storageKey, token);
  return 'taken';
}

export function storedToken() {
  return sessionStorage.getItem(storageKey);
}

export function storeToken(token) {
  sessionStorage.setItem(storageKey, token);
}

export function clearToken() {
  sessionStorage.removeItem(storageKey);
}

/** The payload of a compact JWT, or null when it is not one. */
export function claimsOf(token) {
  const parts = String(token).trim().split('.');
  if (parts.length !== 3) return null;
  try {
    const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
    if (!claims || typeof claims !== 'object') return null;
    const roles = claims.roles;
    const admin = Array.isArray(roles) ? roles.includes('admin') : typeof roles === 'string' && roles.split(/[\s,]+/).includes('admin');
    return { sub: typeof claims.sub === 'string' ? claims.sub : null, admin, expiresAtMs: typeof claims.exp === 'number' ? claims.exp * 1000 : null };
  } catch {
    return null;
  }
}
