import { el, flatten, isTree, num, Tree } from './dom.js';
import type { SeriesMap } from './history.js';

/** Fields shown first when present (state, load, health, response times); the rest follow as they come. */
const LEADING = ['state', 'requests.total', 'requests.processing', 'selected.current', 'selected.total', 'health.fails', 'health.unavailable', 'health.downtime', 'health.header_time', 'health.response_time'];

function ordered(fields: string[]): string[] {
  return [...LEADING.filter((f) => fields.includes(f)), ...fields.filter((f) => !LEADING.includes(f))];
}

/** Fields whose rate per second gets its own column when present. */
const RATE_FIELDS = ['requests.total', 'selected.total', 'passed', 'rejected'];

function cell(v: unknown): HTMLTableCellElement {
  const td = el('td', {}, typeof v === 'number' ? num(v) : v === undefined ? '' : String(v));
  if (typeof v === 'string' && /^(up|down|unavailable|unhealthy|checking|busy|draining)$/.test(v)) td.className = `state-${v}`;
  return td;
}

/**
 * Any branch of named entries (server zones, location zones, peers, limit
 * zones, throttles, whatever later issues add) as one table: a row per
 * entry, a column per leaf field, plus rates of the counters we know.
 */
export function entryTable(id: string, title: string, entries: Tree, history: SeriesMap, now: number): HTMLElement {
  const panel = el('div', { class: 'panel', id, 'data-branch': title });
  panel.append(el('h2', {}, title));
  const rows = Object.entries(entries).map(([name, v]) => [name, flatten(isTree(v) ? v : { value: v })] as const);
  if (rows.length === 0) {
    panel.append(el('div', { class: 'empty' }, 'no entries'));
    return panel;
  }
  const fields = ordered([...new Set(rows.flatMap(([, f]) => [...f.keys()]))]);
  const rated = RATE_FIELDS.filter((f) => fields.includes(f));
  const table = el('table');
  const head = el('tr');
  head.append(el('th', {}, 'name'), ...rated.map((f) => el('th', {}, `${f}/s`)), ...fields.map((f) => el('th', {}, f)));
  table.append(head);
  for (const [name, f] of rows) {
    const tr = el('tr', { 'data-name': name });
    tr.append(el('td', {}, name));
    for (const r of rated) {
      const s = history.get(`${id}/${name}/${r}`);
      const v = f.get(r);
      if (typeof v === 'number') s.push(now, v);
      tr.append(cell(s.rate()));
    }
    for (const field of fields) tr.append(cell(f.get(field)));
    table.append(tr);
  }
  panel.append(table);
  return panel;
}
