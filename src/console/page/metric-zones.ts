import { Column, columnsFor } from './columns.js';
import { branch, el, isTree, num, Tree } from './dom.js';
import { SeriesMap } from './history.js';
import { ZoneDetail } from './zone-detail.js';
import { Row, SortBy, ZoneTable } from './zone-table.js';

/** One metric zone: header (keys, discarded, fill), sort control, key table and the selected key's chart. */
class ZonePanel {
  readonly root: HTMLElement;
  private readonly meta = el('span', { class: 'meta' });
  private readonly sortSelect = el('select', { class: 'sort' });
  private readonly table = new ZoneTable((key) => this.detail.select(key));
  private readonly detail = new ZoneDetail();
  private readonly history = new SeriesMap();
  private columns: Column[] = [];
  private columnsKey = '';

  constructor(readonly name: string) {
    this.root = el('div', { class: 'panel zone', 'data-zone': name });
    const h2 = el('h2', {}, name);
    h2.append(this.meta);
    for (const [value, label] of [['value', 'value'], ['rate', 'rate of change'], ['name', 'name']]) {
      this.sortSelect.append(el('option', { value }, label));
    }
    this.sortSelect.addEventListener('change', () => this.table.sortOn(this.selectedSort()));
    const tools = el('div', { class: 'zone-tools' });
    const label = el('label', {}, 'sort by ');
    label.append(this.sortSelect);
    tools.append(label);
    this.root.append(h2, tools, this.table.root, this.detail.root);
  }

  private selectedSort(): SortBy {
    const v = this.sortSelect.value;
    return v === 'value' ? 0 : v === 'name' ? 'name' : 'rate';
  }

  update(zone: Tree, slab: Tree | undefined, now: number): void {
    const metrics = branch(zone, 'metrics') ?? {};
    const entries = Object.entries(metrics);
    this.ensureColumns(entries[0]?.[1]);
    const rows: Row[] = entries.map(([key, value]) => {
      const cells = this.columns.map((c) => c.get(value));
      const history = this.history.get(key);
      if (cells[0] !== undefined) history.push(now, cells[0]);
      return { key, cells, rate: history.rate(), history };
    });
    this.history.retain(new Set(Object.keys(metrics)));
    this.table.update(rows);
    this.meta.replaceChildren(`${entries.length} keys · discarded ${num(Number(zone.discarded ?? 0))} · fill `, this.fillBar(slab));
    if (this.detail.selected === undefined && this.table.firstKey() !== undefined) {
      this.table.selected = this.table.firstKey();
      this.detail.select(this.table.selected!);
    }
    const selected = this.detail.selected;
    if (selected !== undefined) this.detail.update(metrics[selected]);
  }

  private ensureColumns(sample: unknown): void {
    const cols = sample === undefined ? [] : columnsFor(sample);
    const key = cols.map((c) => c.name).join('\u0000');
    if (key === this.columnsKey && this.columns.length > 0) return;
    this.columns = cols;
    this.columnsKey = key;
    this.table.setColumns(cols);
  }

  /** Zone fill from /status/slabs/: used pages of all pages. */
  private fillBar(slab: Tree | undefined): HTMLElement {
    const pages = branch(slab, 'pages');
    const used = Number(pages?.used ?? 0);
    const all = used + Number(pages?.free ?? 0);
    const pct = all > 0 ? (used / all) * 100 : 0;
    const bar = el('span', { class: 'fill', title: `${used}/${all} pages`, 'data-fill': pct.toFixed(1) });
    const inner = el('i');
    inner.style.width = `${pct}%`;
    bar.append(inner);
    const wrap = el('span');
    wrap.append(bar, ` ${pct.toFixed(1)}%`);
    return wrap;
  }
}

/** Every metric zone of the tree, one panel each, kept across updates so sorting and scrolling survive. */
export class MetricZones {
  readonly root = el('section', { class: 'view', id: 'view-metrics' });
  private readonly panels = new Map<string, ZonePanel>();

  update(tree: Tree, now: number): void {
    const zones = branch(tree, 'http', 'metric_zones') ?? {};
    const slabs = branch(tree, 'slabs');
    for (const [name, zone] of Object.entries(zones)) {
      if (!isTree(zone)) continue;
      let panel = this.panels.get(name);
      if (panel === undefined) {
        panel = new ZonePanel(name);
        this.panels.set(name, panel);
        this.root.append(panel.root);
      }
      panel.update(zone, branch(slabs, name), now);
    }
    for (const [name, panel] of this.panels) {
      if (name in zones) continue;
      panel.root.remove();
      this.panels.delete(name);
    }
  }
}
