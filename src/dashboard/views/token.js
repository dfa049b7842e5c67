// One token: its supplies, a chart of how concentrated the holdings are (the share of the
// circulating supply held by the top 1, 10, 100, 1000 holders), the top holders and the events,
// kept current by /ledger events (the holders and the chart are read again, at most once a
// second, after each transfer or burn). Balances are shown with the token's decimals, exactly.
import { errorBox, fill, h, pager, svg } from '../dom.js';
import { formatAmount, formatTime, percent, sum } from '../format.js';

const holdersPageSize = 20;
const eventsPageSize = 20;
const liveEventsMax = 50;
const concentrationTops = [1, 10, 100, 1000];
const refreshDelayMs = 1_000;
/** Event ids start with their time in ms (Redis stream ids), so "since" is an `after` id. */
const sinceChoices = [
  { value: 'hour', label: 'the last hour', ms: 3_600_000 },
  { value: 'day', label: 'the last 24 hours', ms: 86_400_000 },
  { value: 'week', label: 'the last 7 days', ms: 7 * 86_400_000 },
  { value: 'start', label: 'the start', ms: null },
];

function describeEvent(type, event, decimals) {
  const amount = (a) => formatAmount(a, decimals);
  if (type === 'transfer') return `${event.from} → ${event.to}: ${amount(event.amount)}`;
  if (type === 'burn') return `${event.account} burned ${amount(event.amount)}`;
  if (type === 'init') return `created, ${amount(event.totalSupply ?? event.amount)} to ${event.to ?? event.account ?? event.treasury ?? '?'}`;
  if (type === 'batch') return `batch of ${event.n ?? event.legs?.length ?? '?'}: ${(event.legs ?? []).map((l) => `${l.from} → ${l.to}: ${amount(l.amount)}`).join('; ')}`;
  return type;
}

function eventRow(type, event, decimals, live) {
  return h('li', { 'data-testid': 'event-row', 'data-event-id': event.id, class: live ? 'live' : '' },
    h('span', { class: 'event-type' }, type), ' ',
    h('span', {}, describeEvent(type, event, decimals)), ' ',
    h('time', { class: 'muted' }, formatTime(event.ts)),
    event.opId ? h('span', { class: 'muted' }, ` · ${event.opId}`) : null);
}

function concentrationChart(holders, circulating) {
  const rows = concentrationTops.map((top) => ({ top, share: percent(sum(holders.slice(0, top).map((x) => x.balance)), circulating) }));
  const barHeight = 22;
  const gap = 8;
  const labelWidth = 90;
  const width = 400;
  const chart = svg('svg', {
    class: 'chart', viewBox: `0 0 ${width + labelWidth + 70} ${rows.length * (barHeight + gap)}`, role: 'img', 'data-testid': 'concentration-chart',
    'aria-label': `Share of the circulating supply held by the top holders: ${rows.map((r) => `top ${r.top} ${r.share}%`).join(', ')}`,
  }, rows.map((row, i) => {
    const y = i * (barHeight + gap);
    return svg('g', { 'data-top': row.top, 'data-share': row.share },
      svg('text', { x: 0, y: y + barHeight * 0.7, class: 'chart-label' }, `Top ${row.top}`),
      svg('rect', { x: labelWidth, y, width, height: barHeight, class: 'chart-track' }),
      svg('rect', { x: labelWidth, y, width: (Number(row.share) / 100) * width, height: barHeight, class: 'chart-bar' }),
      svg('text', { x: labelWidth + width + 6, y: y + barHeight * 0.7, class: 'chart-value' }, `${row.share}%`));
  }));
  return chart;
}

export function renderToken(root, { api, live, claims }, symbol) {
  const path = `/v1/tokens/${encodeURIComponent(symbol)}`;
  const infoSlot = h('div', { 'aria-live': 'polite' }, 'Loading…');
  const chartSlot = h('div');
  const holdersBody = h('tbody');
  const holdersPager = h('div');
  const liveList = h('ol', { class: 'events', reversed: true });
  const historyList = h('ol', { class: 'events' });
  const historyStatus = h('div');
  const historyPager = h('div');
  let info = null;
  let holdersCursor = '';
  let since = sinceChoices[1];
  let historyAfter = '';
  const sinceAfter = () => (since.ms === null ? '' : `${Date.now() - since.ms}-0`);
  let alive = true;
  let refreshTimer = null;

  async function loadInfo() {
    try {
      info = await api.get(path);
      if (!alive) return;
      fill(infoSlot, h('dl', { class: 'facts' },
        ...[['Name', info.name], ['Symbol', info.symbol], ['Decimals', info.decimals],
          ['Total supply', formatAmount(info.totalSupply, info.decimals)], ['Circulating supply', formatAmount(info.circulatingSupply, info.decimals)],
          ['Holders', info.holders], ['Treasury', info.treasury], ['Created', formatTime(info.createdAt)]]
          .map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', { 'data-fact': term }, value)))));
    } catch (error) {
      if (alive) fill(infoSlot, errorBox(error));
      throw error;
    }
  }

  async function loadChart() {
    try {
      const page = await api.get(`${path}/holders`, { limit: 1000 });
      if (alive) fill(chartSlot, concentrationChart(page.holders, info.circulatingSupply));
    } catch (error) {
      if (alive) fill(chartSlot, errorBox(error));
    }
  }

  async function loadHolders() {
    try {
      const page = await api.get(`${path}/holders`, { limit: holdersPageSize, cursor: holdersCursor });
      if (!alive) return;
      const rank0 = holdersCursor ? Number(holdersCursor.split('.')[0]) : 0;
      fill(holdersBody, page.holders.map((holder, i) => h('tr', { 'data-testid': 'holder-row', 'data-account': holder.account },
        h('td', { class: 'num', 'data-label': 'Rank' }, rank0 + i + 1),
        h('th', { scope: 'row', 'data-label': 'Account' }, holder.account),
        h('td', { class: 'num', 'data-label': 'Balance', 'data-balance': holder.balance }, formatAmount(holder.balance, info.decimals)),
        h('td', { class: 'num', 'data-label': 'Share' }, `${percent(holder.balance, info.circulatingSupply)}%`))));
      fill(holdersPager, pager({
        label: 'Holder pages',
        ...(holdersCursor ? { onFirst: () => { holdersCursor = ''; void loadHolders(); } } : {}),
        ...(page.next ? { onNext: () => { holdersCursor = page.next; void loadHolders(); } } : {}),
      }));
    } catch (error) {
      if (alive) fill(holdersBody, h('tr', {}, h('td', { colspan: 4 }, errorBox(error))));
    }
  }

  async function loadHistory() {
    try {
      // Admins read every event; other users the events of their own account (the API's rule).
      const page = await api.get(`${path}/events`, { limit: eventsPageSize, after: historyAfter || sinceAfter(), ...(claims.admin ? {} : { account: claims.sub }) });
      if (!alive) return;
      fill(historyList, page.events.map((event) => eventRow(event.type, event, info.decimals, false)));
      fill(historyStatus, page.events.length === 0 ? h('p', { class: 'muted' }, `No events since ${since.label}.`) : null);
      fill(historyPager, pager({
        label: 'Event pages',
        ...(historyAfter ? { onFirst: () => { historyAfter = ''; void loadHistory(); } } : {}),
        ...(page.next ? { onNext: () => { historyAfter = page.next; void loadHistory(); } } : {}),
      }));
    } catch (error) {
      if (alive) fill(historyStatus, errorBox(error));
    }
  }

  async function loadAll() {
    try {
      await loadInfo();
    } catch {
      return; // the info box says why (e.g. TOKEN_NOT_FOUND)
    }
    await Promise.all([loadChart(), loadHolders(), loadHistory()]);
  }

  const scheduleRefresh = () => {
    if (refreshTimer) return;
    refreshTimer = setTimeout(async () => {
      refreshTimer = null;
      if (!alive) return;
      try { await loadInfo(); } catch { return; }
      await Promise.all([loadChart(), loadHolders()]);
    }, refreshDelayMs);
  };

  const unfollow = live.followToken(symbol, (type, event) => {
    if (!alive || !info) return;
    liveList.prepend(eventRow(type, event, info.decimals, true));
    while (liveList.children.length > liveEventsMax) liveList.lastElementChild.remove();
    scheduleRefresh();
  });
  const offReconnect = live.onReconnect(() => void loadAll());

  fill(root, h('section', { 'aria-labelledby': 'token-title' },
    h('p', {}, h('a', { href: '#/tokens' }, '← Tokens')),
    h('h1', { id: 'token-title' }, symbol),
    infoSlot,
    h('h2', {}, 'Concentration'),
    h('p', { class: 'muted' }, 'Share of the circulating supply held by the largest holders.'),
    chartSlot,
    h('h2', {}, 'Top holders'),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Rank', 'Account', 'Balance', 'Share'].map((t) => h('th', { scope: 'col' }, t)))),
      holdersBody)),
    holdersPager,
    h('h2', {}, 'Live events'),
    h('p', { class: 'muted' }, claims.admin ? 'Transfers and burns as they happen.' : `Transfers and burns of ${claims.sub} as they happen.`),
    liveList,
    h('h2', {}, 'Recent events'),
    h('form', { class: 'inline', 'aria-label': 'Events since', onsubmit: (event) => event.preventDefault() },
      h('div', { class: 'field' }, h('label', { for: 'events-since' }, 'Since'), h('select', { id: 'events-since', onchange: (event) => {
        since = sinceChoices.find((c) => c.value === event.target.value) ?? sinceChoices[1];
        historyAfter = '';
        void loadHistory();
      } }, sinceChoices.map((c) => h('option', { value: c.value, selected: c === since }, c.label)))),
      h('p', { class: 'muted' }, 'Oldest first.')),
    historyStatus, historyList, historyPager));
  void loadAll();
  return () => {
    alive = false;
    clearTimeout(refreshTimer);
    unfollow();
    offReconnect();
  };
}
