import type { Column } from './columns.js';
import { el, num } from './dom.js';
import type { Series } from './history.js';

const ROW_HEIGHT = 24;
const OVERSCAN = 6;
const MAX_HEIGHT = 330;

/** One key of a metric zone as the table shows it. */
export interface Row {
  key: string;
  cells: Array<number | undefined>;
  rate: number | undefined;
  history: Series;
}

/** 'name', 'rate', or the index of a number column; 'value' in the select means column 0. */
export type SortBy = 'name' | 'rate' | number;

function compare(by: SortBy): (a: Row, b: Row) => number {
  if (by === 'name') return (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const pick = by === 'rate' ? (r: Row) => r.rate : (r: Row) => r.cells[by];
  return (a, b) => (pick(a) ?? -Infinity) - (pick(b) ?? -Infinity) || (a.key < b.key ? -1 : 1);
}

function drawSparkline(canvas: HTMLCanvasElement, s: Series): void {
  const ctx = canvas.getContext('2d');
  if (ctx === null) return;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const v = s.values;
  if (v.length < 2) return;
  const lo = Math.min(...v);
  const span = Math.max(...v) - lo || 1;
  ctx.strokeStyle = '#2b6cb0';
  ctx.beginPath();
  v.forEach((x, i) => {
    const px = (i / (v.length - 1)) * (canvas.width - 2) + 1;
    const py = canvas.height - 2 - ((x - lo) / span) * (canvas.height - 4);
    if (i === 0) ctx.moveTo(px, py);
    else ctx.lineTo(px, py);
  });
  ctx.stroke();
}

/**
 * A sortable table of many keys that renders only the rows in view, so a
 * 10,000-key zone costs a sort and a screenful of rows per update.
 */
export class ZoneTable {
  readonly root = el('div', { class: 'vt' });
  private readonly head = el('div', { class: 'vhead' });
  private readonly spacer = el('div', { class: 'spacer' });
  private rows: Row[] = [];
  private columns: Column[] = [];
  sortBy: SortBy = 0;
  descending = true;
  selected: string | undefined;

  constructor(private readonly onSelect: (key: string) => void) {
    this.root.append(this.head, this.spacer);
    this.root.addEventListener('scroll', () => this.renderVisible());
  }

  setColumns(columns: Column[]): void {
    this.columns = columns;
    const grid = `minmax(160px, 2fr) 90px 90px ${columns.map(() => 'minmax(80px, 1fr)').join(' ')}`;
    this.head.style.gridTemplateColumns = grid;
    const labels: Array<[string, SortBy]> = [['key', 'name'], ['history', 'rate'], ['rate/s', 'rate'], ...columns.map((c, i): [string, SortBy] => [c.name, i])];
    this.head.replaceChildren(
      ...labels.map(([label, by], i) => {
        const span = el('span', { 'data-sort': String(by) }, label);
        if (i !== 1) span.addEventListener('click', () => this.sortOn(by));
        return span;
      }),
    );
    this.markSorted();
  }

  /** Sorts on `by`; the same column again flips the direction. Names sort ascending first. */
  sortOn(by: SortBy): void {
    if (this.sortBy === by) this.descending = !this.descending;
    else {
      this.sortBy = by;
      this.descending = by !== 'name';
    }
    this.markSorted();
    this.sortAndRender();
  }

  update(rows: Row[]): void {
    this.rows = rows;
    this.sortAndRender();
  }

  /** The key shown first: the zone selects it for the detail chart when nothing is selected yet. */
  firstKey(): string | undefined {
    return this.rows[0]?.key;
  }

  private markSorted(): void {
    for (const span of this.head.children) {
      const on = span.getAttribute('data-sort') === String(this.sortBy) && span !== this.head.children[1];
      span.classList.toggle('sorted', on);
      span.classList.toggle('asc', on && !this.descending);
    }
  }

  private sortAndRender(): void {
    const cmp = compare(this.sortBy);
    this.rows.sort(this.descending ? (a, b) => cmp(b, a) : cmp);
    this.spacer.style.height = `${this.rows.length * ROW_HEIGHT}px`;
    // Short zones get a short table; long ones scroll inside a fixed height.
    this.root.style.height = `${Math.min(MAX_HEIGHT, (this.rows.length + 1) * ROW_HEIGHT + 4)}px`;
    this.renderVisible();
  }

  private renderVisible(): void {
    const top = this.root.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((top + this.root.clientHeight) / ROW_HEIGHT) + OVERSCAN);
    const grid = this.head.style.gridTemplateColumns;
    const out: HTMLElement[] = [];
    for (let i = first; i < last; i++) out.push(this.rowElement(this.rows[i], i, grid));
    this.spacer.replaceChildren(...out);
  }

  private rowElement(row: Row, index: number, grid: string): HTMLElement {
    const div = el('div', { class: row.key === this.selected ? 'vrow sel' : 'vrow', 'data-key': row.key });
    div.style.top = `${index * ROW_HEIGHT}px`;
    div.style.gridTemplateColumns = grid;
    const canvas = el('canvas', { width: '80', height: '18' });
    const spark = el('span');
    spark.append(canvas);
    div.append(el('span', { title: row.key }, row.key), spark, el('span', {}, num(row.rate)), ...row.cells.map((c) => el('span', {}, num(c))));
    drawSparkline(canvas, row.history);
    div.addEventListener('click', () => {
      this.selected = row.key;
      this.onSelect(row.key);
      this.renderVisible();
    });
    return div;
  }
}
