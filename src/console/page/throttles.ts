import { branch, el, isTree, num, Tree } from './dom.js';

/** Throttle zone → the `throttle_api` location this page may call (from the console's server). */
const apis: Record<string, string> = JSON.parse(document.body.dataset.throttleApis ?? '{}');

const COLUMNS = ['state', 'source', 'since', 'expires', 'triggers', 'max_concurrency', 'rate', 'reason'];

/** States under which a key is held back; only those get a release button. */
const ACTIVE = new Set(['AUTO_THROTTLED', 'MANUAL_THROTTLED']);

/**
 * Per throttle zone, its keys with their state, and a release button
 * (`DELETE` on the zone's throttle_api) when the page's server serves one.
 */
export function throttleKeyPanels(tree: Tree): HTMLElement[] {
  const zones = branch(tree, 'http', 'throttle_zones') ?? {};
  return Object.entries(zones).flatMap(([zone, z]) => (isTree(z) ? [keyPanel(zone, branch(z, 'keys') ?? {})] : []));
}

function keyPanel(zone: string, keys: Tree): HTMLElement {
  const panel = el('div', { class: 'panel', id: `throttle-keys-${zone}`, 'data-branch': `throttle ${zone}` });
  panel.append(el('h2', {}, `throttle ${zone}: keys`));
  const entries = Object.entries(keys).filter((e): e is [string, Tree] => isTree(e[1]));
  if (entries.length === 0) {
    panel.append(el('div', { class: 'empty' }, 'no key is throttled'));
    return panel;
  }
  const table = el('table');
  const head = el('tr');
  head.append(el('th', {}, 'key'), ...COLUMNS.map((c) => el('th', {}, c)), el('th', {}, ''));
  table.append(head);
  for (const [key, rec] of entries) table.append(keyRow(zone, key, rec));
  panel.append(table);
  return panel;
}

function keyRow(zone: string, key: string, rec: Tree): HTMLTableRowElement {
  const tr = el('tr', { 'data-name': key });
  tr.append(el('td', {}, key), ...COLUMNS.map((c) => el('td', {}, shown(rec[c]))));
  const action = el('td');
  const api = apis[zone];
  if (api !== undefined && ACTIVE.has(String(rec.state))) action.append(releaseButton(api, key));
  tr.append(action);
  return tr;
}

function shown(v: unknown): string {
  if (typeof v === 'number') return num(v);
  return v === undefined || v === null ? '' : String(v);
}

function releaseButton(api: string, key: string): HTMLButtonElement {
  const button = el('button', { class: 'release', 'data-key': key }, 'release');
  button.addEventListener('click', () => {
    button.disabled = true;
    button.textContent = 'releasing…';
    fetch(`${api}${encodeURIComponent(key)}`, { method: 'DELETE' })
      .then((res) => (button.textContent = res.ok ? 'released' : `failed (${res.status})`))
      .catch(() => (button.textContent = 'failed'));
  });
  return button;
}
