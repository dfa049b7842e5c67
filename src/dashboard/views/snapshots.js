// Snapshots: the list (newest first, filters, paging) with live progress bars from /snapshots
// events, holders and rate while running, the CID, the Merkle root and downloads (NDJSON, CSV,
// CAR) once completed, the filters it was taken with, the error once failed; and a form to
// request one, with the snapshot filters (minimum balance, excluded accounts).
import { saveBlob } from '../api.js';
import { errorBox, fill, h, pager, progressBar, setProgress } from '../dom.js';
import { formatTime } from '../format.js';

const pageSize = 20;
const statuses = ['queued', 'running', 'completed', 'failed'];
const recordRefreshMs = 1_000;
const downloads = [
  { label: 'NDJSON', accept: 'application/x-ndjson', ext: 'ndjson' },
  { label: 'CSV', accept: 'text/csv', ext: 'csv' },
  { label: 'CAR', accept: 'application/vnd.ipld.car', ext: 'car' },
];

/** The filters as a person reads them, e.g. "balance >= 100, without treasury, 0.0.7". */
function describeFilters(filters) {
  const parts = [];
  if (filters.minBalance !== undefined) parts.push(`balance >= ${filters.minBalance}`);
  if (filters.minCount !== undefined) parts.push(`serials >= ${filters.minCount}`);
  if (filters.exclude?.length) parts.push(`without ${filters.exclude.join(', ')}`);
  return parts.join('; ');
}

function field(label, id, input) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

export function renderSnapshots(root, { api, live, params, navigate }) {
  const filters = { tokenId: params.get('tokenId') ?? '', status: params.get('status') ?? '' };
  const cursor = params.get('cursor') ?? '';
  const rows = new Map(); // snapshotId -> { el, record, rate }
  const list = h('div', { class: 'snapshots', 'aria-live': 'polite' });
  const status = h('div', {}, 'Loading…');
  const pagerSlot = h('div');
  const formMessage = h('div', { class: 'form-message' });
  let alive = true;
  const timers = new Map();

  const hashFor = (f, c) => {
    const q = new URLSearchParams();
    if (f.tokenId) q.set('tokenId', f.tokenId);
    if (f.status) q.set('status', f.status);
    if (c) q.set('cursor', c);
    const text = q.toString();
    return `#/snapshots${text ? `?${text}` : ''}`;
  };

  async function download(record, kind) {
    try {
      const blob = await api.blob(`/v1/snapshots/${record.snapshotId}/content`, kind.accept);
      saveBlob(blob, `${record.tokenId}-${record.snapshotId}.${kind.ext}`);
    } catch (error) {
      rows.get(record.snapshotId)?.el.querySelector('.row-message')?.replaceChildren(errorBox(error));
    }
  }

  function rowContent(entry) {
    const { record } = entry;
    const running = record.status === 'queued' || record.status === 'running';
    const facts = [
      ['Holders', running ? entry.liveHolders ?? record.holders ?? '–' : record.holders ?? '–'],
      ...(record.status === 'running' && entry.rate !== null ? [['Rate', `${entry.rate} holders/s`]] : []),
      ['Timestamp', record.consensusTimestamp ?? record.requestedTimestamp ?? 'latest'],
      ['Requested', `${formatTime(record.createdAt)}${record.requestedBy ? ` by ${record.requestedBy}` : ''}`],
      ...(record.finishedAt ? [['Finished', formatTime(record.finishedAt)]] : []),
      ...(record.filters ? [['Filters', describeFilters(record.filters)]] : []),
    ];
    return [
      h('div', { class: 'row-head' },
        h('strong', {}, record.tokenId), ' ',
        h('span', { class: `badge ${record.status}`, 'data-testid': 'snapshot-status' }, record.status), ' ',
        h('code', { class: 'muted' }, record.snapshotId)),
      entry.bar,
      h('dl', { class: 'facts small' }, facts.map(([t, v]) => h('div', {}, h('dt', {}, t), h('dd', { 'data-fact': t }, String(v))))),
      record.cid ? h('p', {}, 'CID ', h('code', { 'data-testid': 'snapshot-cid' }, record.cid)) : null,
      record.merkle ? h('p', {}, 'Merkle root ', h('code', { 'data-testid': 'snapshot-merkle-root' }, record.merkle.root),
        h('span', { class: 'muted' }, ` (${record.merkle.leaves} leaves; proofs at /v1/snapshots/${record.snapshotId}/proofs/<account>)`)) : null,
      record.status === 'completed' ? h('div', { class: 'downloads' }, 'Download: ', downloads.map((kind) =>
        h('button', { type: 'button', onclick: () => void download(record, kind), 'data-download': kind.ext }, kind.label))) : null,
      record.status === 'failed' && record.error ? h('div', { 'data-testid': 'snapshot-error' }, errorBox(record.error)) : null,
      running && record.error ? h('p', { class: 'muted' }, `Last attempt failed: ${record.error.message}; retrying.`) : null,
      h('div', { class: 'row-message' }),
    ];
  }

  function render(entry) {
    setProgress(entry.bar, entry.record.status === 'completed' ? 100 : entry.record.progress);
    fill(entry.el, rowContent(entry));
  }

  function upsert(record, { prepend = false } = {}) {
    let entry = rows.get(record.snapshotId);
    if (!entry) {
      entry = {
        record, rate: null, liveHolders: null, first: null,
        bar: progressBar(record.progress, `Progress of the snapshot of ${record.tokenId}`),
        el: h('article', { class: 'card snapshot', 'data-testid': 'snapshot-row', 'data-snapshot-id': record.snapshotId }),
      };
      rows.set(record.snapshotId, entry);
      if (prepend) list.prepend(entry.el);
      else list.append(entry.el);
      if (record.status === 'queued' || record.status === 'running') live.followSnapshot(record.snapshotId);
    }
    entry.record = { ...entry.record, ...record };
    render(entry);
    return entry;
  }

  /** Reads the record again (holders, CID, error), at most once per second per snapshot. */
  function refresh(snapshotId, now = false) {
    if (timers.has(snapshotId)) return;
    timers.set(snapshotId, setTimeout(async () => {
      timers.delete(snapshotId);
      if (!alive) return;
      try { upsert(await api.get(`/v1/snapshots/${snapshotId}`)); } catch (error) { rows.get(snapshotId)?.el.querySelector('.row-message')?.replaceChildren(errorBox(error)); }
    }, now ? 0 : recordRefreshMs));
  }

  const matchesFilters = (record) => (!filters.tokenId || record.tokenId === filters.tokenId) && (!filters.status || record.status === filters.status);

  const offEvents = live.onSnapshotEvent(({ type, payload }) => {
    if (!alive || !payload?.snapshotId) return;
    const entry = rows.get(payload.snapshotId);
    if (!entry) {
      // A new snapshot of this caller's (or any, for admins) shows up on the first page.
      if (!cursor) api.get(`/v1/snapshots/${payload.snapshotId}`).then((record) => { if (alive && matchesFilters(record) && !rows.has(record.snapshotId)) upsert(record, { prepend: true }); }, () => {});
      return;
    }
    const now = Date.now();
    if (type === 'snapshots_active') upsert({ status: 'running', snapshotId: payload.snapshotId });
    if (type === 'snapshots_progress') {
      if (typeof payload.holders === 'number') {
        entry.first ??= { holders: payload.holders, atMs: now };
        const seconds = (now - entry.first.atMs) / 1000;
        if (seconds >= 0.5) entry.rate = Math.round((payload.holders - entry.first.holders) / seconds);
        entry.liveHolders = payload.holders;
      }
      upsert({ snapshotId: payload.snapshotId, status: 'running', progress: Math.max(entry.record.progress, payload.progress) });
    }
    if (type === 'snapshots_completed') {
      upsert({ snapshotId: payload.snapshotId, status: 'completed', progress: 100, cid: payload.cid });
      refresh(payload.snapshotId, true);
      return;
    }
    if (type === 'snapshots_failed') {
      upsert({ snapshotId: payload.snapshotId, status: 'failed', error: entry.record.error ?? { code: null, message: payload.error } });
      refresh(payload.snapshotId, true);
      return;
    }
    refresh(payload.snapshotId);
  });

  async function load() {
    try {
      const page = await api.get('/v1/snapshots', { limit: pageSize, cursor, tokenId: filters.tokenId, status: filters.status });
      if (!alive) return;
      for (const record of page.snapshots) upsert(record);
      fill(status, page.snapshots.length === 0 ? h('p', { class: 'muted' }, 'No snapshots match.') : null);
      fill(pagerSlot, pager({
        label: 'Snapshot pages',
        ...(cursor ? { onFirst: () => navigate(hashFor(filters, '')) } : {}),
        ...(page.next ? { onNext: () => navigate(hashFor(filters, page.next)) } : {}),
      }));
    } catch (error) {
      if (alive) fill(status, errorBox(error));
    }
  }

  const tokenIdInput = h('input', { id: 'snapshot-token', name: 'tokenId', required: true, placeholder: '0.0.456858', autocomplete: 'off', maxlength: 80 });
  const timestampInput = h('input', { id: 'snapshot-timestamp', name: 'timestamp', placeholder: 'seconds.nanoseconds (optional)', autocomplete: 'off', maxlength: 32 });
  const minBalanceInput = h('input', { id: 'snapshot-min-balance', name: 'minBalance', placeholder: 'base units (optional)', autocomplete: 'off', maxlength: 78, inputmode: 'numeric' });
  const excludeInput = h('input', { id: 'snapshot-exclude', name: 'exclude', placeholder: 'treasury, 0.0.1234 (optional)', autocomplete: 'off', maxlength: 2000 });
  const requestForm = h('form', { class: 'card', 'aria-labelledby': 'request-title', onsubmit: async (event) => {
    event.preventDefault();
    fill(formMessage);
    const filters = {
      ...(minBalanceInput.value.trim() ? { minBalance: minBalanceInput.value.trim() } : {}),
      ...(excludeInput.value.trim() ? { exclude: excludeInput.value.split(',').map((a) => a.trim()).filter(Boolean) } : {}),
    };
    const body = {
      tokenId: tokenIdInput.value.trim(),
      ...(timestampInput.value.trim() ? { timestamp: timestampInput.value.trim() } : {}),
      ...(Object.keys(filters).length > 0 ? { filters } : {}),
    };
    try {
      const { snapshotId } = await api.post('/v1/snapshots', body);
      live.followSnapshot(snapshotId);
      const record = await api.get(`/v1/snapshots/${snapshotId}`);
      if (alive) {
        upsert(record, { prepend: true });
        fill(status);
        fill(formMessage, h('p', { class: 'ok', role: 'status' }, `Requested snapshot ${snapshotId}.`));
      }
    } catch (error) {
      if (alive) fill(formMessage, errorBox(error));
    }
  } },
  h('h2', { id: 'request-title' }, 'Request a snapshot'),
  field('Hedera token id', 'snapshot-token', tokenIdInput),
  field('Consensus timestamp', 'snapshot-timestamp', timestampInput),
  field('Minimum balance', 'snapshot-min-balance', minBalanceInput),
  field('Exclude accounts', 'snapshot-exclude', excludeInput),
  h('button', { type: 'submit', 'data-testid': 'request-snapshot' }, 'Request'),
  formMessage);

  const filterToken = h('input', { id: 'filter-token', name: 'tokenId', value: filters.tokenId, placeholder: 'any token', autocomplete: 'off', maxlength: 80 });
  const filterStatus = h('select', { id: 'filter-status', name: 'status' },
    h('option', { value: '' }, 'any status'), statuses.map((s) => h('option', { value: s, selected: s === filters.status }, s)));
  const filterForm = h('form', { class: 'inline', 'aria-label': 'Filter snapshots', onsubmit: (event) => {
    event.preventDefault();
    navigate(hashFor({ tokenId: filterToken.value.trim(), status: filterStatus.value }, ''));
  } }, field('Token', 'filter-token', filterToken), field('Status', 'filter-status', filterStatus), h('button', { type: 'submit' }, 'Filter'));

  fill(root, h('section', { 'aria-labelledby': 'snapshots-title' },
    h('h1', { id: 'snapshots-title' }, 'Snapshots'),
    requestForm,
    filterForm,
    status, list, pagerSlot));
  void load();
  const offReconnect = live.onReconnect(() => { for (const id of rows.keys()) refresh(id, true); void load(); });
  return () => {
    alive = false;
    offEvents();
    offReconnect();
    for (const timer of timers.values()) clearTimeout(timer);
  };
}
