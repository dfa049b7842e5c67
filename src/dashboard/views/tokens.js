// Tokens: symbol, name, decimals, supplies, holders; a symbol-prefix search and paging
// (GET /v1/tokens?prefix=&cursor=&limit=, then each token's info).
import { errorBox, fill, h, pager } from '../dom.js';
import { formatAmount } from '../format.js';

const pageSize = 20;

export function renderTokens(root, { api, params, navigate, live }) {
  const prefix = (params.get('prefix') ?? '').toUpperCase();
  const cursor = params.get('cursor') ?? '';
  const body = h('tbody');
  const status = h('div', { class: 'list-status', 'aria-live': 'polite' }, 'Loading…');
  const pagerSlot = h('div');
  const search = h('input', { id: 'token-search', name: 'prefix', type: 'search', value: prefix, placeholder: 'GOLD', autocomplete: 'off', 'aria-describedby': 'token-search-hint' });
  let alive = true;

  const hashFor = (p, c) => {
    const q = new URLSearchParams();
    if (p) q.set('prefix', p);
    if (c) q.set('cursor', c);
    const text = q.toString();
    return `#/tokens${text ? `?${text}` : ''}`;
  };

  async function load() {
    try {
      const page = await api.get('/v1/tokens', { limit: pageSize, prefix, cursor });
      const infos = await Promise.all(page.symbols.map((symbol) => api.get(`/v1/tokens/${encodeURIComponent(symbol)}`).catch((error) => ({ symbol, error }))));
      if (!alive) return;
      fill(body, infos.map((info) => info.error
        ? h('tr', { 'data-testid': 'token-row', 'data-symbol': info.symbol }, h('td', {}, info.symbol), h('td', { colspan: 5 }, errorBox(info.error)))
        : h('tr', { 'data-testid': 'token-row', 'data-symbol': info.symbol },
          h('th', { scope: 'row' }, h('a', { href: `#/tokens/${encodeURIComponent(info.symbol)}` }, info.symbol)),
          h('td', { 'data-label': 'Name' }, info.name),
          h('td', { 'data-label': 'Decimals', class: 'num' }, info.decimals),
          h('td', { 'data-label': 'Total supply', class: 'num' }, formatAmount(info.totalSupply, info.decimals)),
          h('td', { 'data-label': 'Circulating', class: 'num' }, formatAmount(info.circulatingSupply, info.decimals)),
          h('td', { 'data-label': 'Holders', class: 'num' }, info.holders))));
      fill(status, page.symbols.length === 0 ? (prefix ? `No token symbol starts with ${prefix}.` : 'No tokens yet.') : '');
      fill(pagerSlot, pager({
        label: 'Token pages',
        ...(cursor ? { onFirst: () => navigate(hashFor(prefix, '')) } : {}),
        ...(page.next ? { onNext: () => navigate(hashFor(prefix, page.next)) } : {}),
      }));
    } catch (error) {
      if (alive) fill(status, errorBox(error));
    }
  }

  fill(root, h('section', { 'aria-labelledby': 'tokens-title' },
    h('h1', { id: 'tokens-title' }, 'Tokens'),
    h('form', { class: 'inline', role: 'search', onsubmit: (event) => { event.preventDefault(); navigate(hashFor(search.value.trim().toUpperCase(), '')); } },
      h('label', { for: 'token-search' }, 'Symbol starts with'), search,
      h('button', { type: 'submit' }, 'Search'),
      h('span', { id: 'token-search-hint', class: 'hint' }, 'A–Z, 0–9, _ and -')),
    status,
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Symbol', 'Name', 'Decimals', 'Total supply', 'Circulating', 'Holders'].map((t) => h('th', { scope: 'col' }, t)))),
      body)),
    pagerSlot));
  void load();
  const offReconnect = live.onReconnect(() => void load());
  return () => { alive = false; offReconnect(); };
}
