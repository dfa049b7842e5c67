// Schedules (admins): the recurring snapshots, a form to create one (`15 minutes` or a cron
// expression, checked by the API, whose message is shown as is) and deletion with a confirm
// step. Other users see no controls here; the API refuses them anyway (403).
import { errorBox, fill, h, pager } from '../dom.js';
import { formatTime } from '../format.js';

const pageSize = 20;

export function renderSchedules(root, { api, claims }) {
  if (!claims.admin) {
    fill(root, h('section', {}, h('h1', {}, 'Schedules'), h('p', {}, 'Recurring snapshots are managed by admins.')));
    return () => {};
  }
  const body = h('tbody');
  const status = h('div', {}, 'Loading…');
  const pagerSlot = h('div');
  const formMessage = h('div', { class: 'form-message' });
  let cursor = '';
  let alive = true;

  function confirmDelete(schedule, cell) {
    const message = h('span');
    fill(cell,
      h('button', { type: 'button', class: 'danger', 'data-testid': 'confirm-delete', onclick: async () => {
        try {
          await api.delete(`/v1/snapshot-schedules/${schedule.id}`);
          await load();
        } catch (error) {
          fill(message, errorBox(error));
        }
      } }, 'Confirm delete'), ' ',
      h('button', { type: 'button', onclick: () => fill(cell, deleteButton(schedule, cell)) }, 'Cancel'),
      message);
    cell.querySelector('button').focus();
  }

  function deleteButton(schedule, cell) {
    return h('button', { type: 'button', 'data-testid': 'delete-schedule', onclick: () => confirmDelete(schedule, cell) }, 'Delete');
  }

  async function load() {
    try {
      const page = await api.get('/v1/snapshot-schedules', { limit: pageSize, cursor });
      if (!alive) return;
      fill(body, page.schedules.map((schedule) => {
        const actions = h('td', { 'data-label': 'Actions' });
        fill(actions, deleteButton(schedule, actions));
        return h('tr', { 'data-testid': 'schedule-row', 'data-schedule-id': schedule.id },
          h('th', { scope: 'row', 'data-label': 'Token' }, schedule.tokenId),
          h('td', { 'data-label': 'Every' }, h('code', {}, schedule.every)),
          h('td', { 'data-label': 'Created' }, `${formatTime(schedule.createdAt)} by ${schedule.createdBy}`),
          actions);
      }));
      fill(status, page.schedules.length === 0 ? h('p', { class: 'muted' }, 'No schedules yet.') : null);
      fill(pagerSlot, pager({
        label: 'Schedule pages',
        ...(cursor ? { onFirst: () => { cursor = ''; void load(); } } : {}),
        ...(page.next ? { onNext: () => { cursor = page.next; void load(); } } : {}),
      }));
    } catch (error) {
      if (alive) fill(status, errorBox(error));
    }
  }

  const tokenInput = h('input', { id: 'schedule-token', name: 'tokenId', required: true, placeholder: '0.0.456858', autocomplete: 'off', maxlength: 80 });
  const everyInput = h('input', { id: 'schedule-every', name: 'every', required: true, placeholder: '15 minutes, or */15 * * * *', autocomplete: 'off', maxlength: 100, 'aria-describedby': 'every-hint' });
  const form = h('form', { class: 'card', 'aria-labelledby': 'schedule-title', onsubmit: async (event) => {
    event.preventDefault();
    fill(formMessage);
    try {
      const schedule = await api.post('/v1/snapshot-schedules', { tokenId: tokenInput.value.trim(), every: everyInput.value.trim() });
      fill(formMessage, h('p', { class: 'ok', role: 'status' }, `Scheduled ${schedule.tokenId} every ${schedule.every}.`));
      cursor = '';
      await load();
    } catch (error) {
      fill(formMessage, errorBox(error));
    }
  } },
  h('h2', { id: 'schedule-title' }, 'New schedule'),
  h('div', { class: 'field' }, h('label', { for: 'schedule-token' }, 'Hedera token id'), tokenInput),
  h('div', { class: 'field' }, h('label', { for: 'schedule-every' }, 'Every'), everyInput,
    h('span', { id: 'every-hint', class: 'hint' }, 'A human interval (15 minutes, 1 hour) or a cron expression in UTC.')),
  h('button', { type: 'submit', 'data-testid': 'create-schedule' }, 'Create'),
  formMessage);

  fill(root, h('section', { 'aria-labelledby': 'schedules-title' },
    h('h1', { id: 'schedules-title' }, 'Schedules'),
    form,
    status,
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Token', 'Every', 'Created', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      body)),
    pagerSlot));
  void load();
  return () => { alive = false; };
}
