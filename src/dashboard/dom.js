// DOM helpers: elements are built, never parsed from strings, so data from the API cannot
// inject markup. Styles come only from style.css (the CSP forbids inline styles); widths of bars
// are set through the CSSOM (element.style), which the CSP allows.
const svgNs = 'http://www.w3.org/2000/svg';

function assign(el, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'text') el.textContent = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** h('a', { href: '#/x', class: 'y' }, 'text', otherNode) */
export function h(tag, attrs, ...children) {
  return append(assign(document.createElement(tag), attrs), children);
}

export function svg(tag, attrs, ...children) {
  return append(assign(document.createElementNS(svgNs, tag), attrs), children);
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** An error block with the API's message (and its code, smaller). */
export function errorBox(error) {
  return h('div', { class: 'error', role: 'alert' },
    h('strong', {}, error?.message ?? String(error)),
    error?.code ? h('span', { class: 'code' }, ` ${error.code}`) : null);
}

/** A progress bar readable by assistive technology and tests: role=progressbar, aria-valuenow. */
export function progressBar(value, label) {
  const fillEl = h('div', { class: 'bar-fill' });
  const bar = h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-label': label }, fillEl);
  setProgress(bar, value);
  return bar;
}

export function setProgress(bar, value) {
  const clamped = Math.max(0, Math.min(100, Math.round(Number(value) || 0)));
  bar.setAttribute('aria-valuenow', String(clamped));
  bar.setAttribute('aria-valuetext', `${clamped}%`);
  bar.firstElementChild.style.width = `${clamped}%`;
}

/** Pager buttons: `onFirst` / `onNext` are omitted (disabled) when there is no such page. */
export function pager({ onFirst, onNext, label }) {
  return h('nav', { class: 'pager', 'aria-label': label },
    h('button', { type: 'button', disabled: !onFirst, onclick: onFirst }, 'First page'),
    h('button', { type: 'button', disabled: !onNext, onclick: onNext, 'data-testid': 'next-page' }, 'Next page'));
}
