// Sign in by pasting a JWT (checked against the API before it is kept), or, in development,
// with a dev token minted by the server (the button exists only when the server offers it).
import { createApi } from '../api.js';
import { errorBox, fill, h } from '../dom.js';
import { claimsOf } from '../session.js';

export function renderSignIn(root, { config, signIn }) {
  const message = h('div', { class: 'form-message' });
  const tokenInput = h('textarea', { id: 'jwt', name: 'jwt', rows: 4, required: true, spellcheck: 'false', autocomplete: 'off', placeholder: 'eyJhbGciOi…' });

  async function accept(token) {
    fill(message);
    try {
      if (!claimsOf(token)) throw new Error('this is not a JWT (three base64url parts separated by dots)');
      // The API is the judge: a token it refuses is not kept.
      await createApi(() => token, () => {}).get('/v1/tokens', { limit: 1 });
      signIn(token);
    } catch (error) {
      fill(message, errorBox(error));
    }
  }

  const pasteForm = h('form', { class: 'card', 'aria-labelledby': 'signin-title', onsubmit: (event) => { event.preventDefault(); void accept(tokenInput.value.trim()); } },
    h('h1', { id: 'signin-title' }, 'Sign in'),
    h('p', {}, 'Paste a JWT the API accepts (', h('code', {}, 'npx tally token <account> [--admin]'), '), or open a link from ', h('code', {}, 'npx tally dashboard'), '.'),
    h('label', { for: 'jwt' }, 'JWT'), tokenInput,
    h('button', { type: 'submit', 'data-testid': 'sign-in' }, 'Sign in'));

  let devForm = null;
  if (config.devTokens) {
    const subInput = h('input', { id: 'dev-sub', name: 'sub', value: 'ops', required: true, autocomplete: 'off' });
    const adminInput = h('input', { id: 'dev-admin', name: 'admin', type: 'checkbox', checked: true });
    devForm = h('form', { class: 'card', 'aria-labelledby': 'dev-title', onsubmit: async (event) => {
      event.preventDefault();
      fill(message);
      try {
        const response = await fetch('/dashboard/dev-token', {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub: subInput.value.trim(), admin: adminInput.checked }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = await response.json().catch(() => ({}));
        if (!response.ok) throw Object.assign(new Error(body?.error?.message ?? `the server answered ${response.status}`), { code: body?.error?.code });
        await accept(body.token);
      } catch (error) {
        fill(message, errorBox(error));
      }
    } },
    h('h2', { id: 'dev-title' }, 'Development'),
    h('p', {}, 'This server runs with the development secret of ', h('code', {}, 'make run'), ': it can mint a token for you.'),
    h('label', { for: 'dev-sub' }, 'Account'), subInput,
    h('label', { class: 'check', for: 'dev-admin' }, adminInput, ' admin'),
    h('button', { type: 'submit', 'data-testid': 'dev-token' }, 'Mint a dev token and sign in'));
  }

  fill(root, h('div', { class: 'signin' }, message, pasteForm, devForm));
  tokenInput.focus();
  return () => {};
}
