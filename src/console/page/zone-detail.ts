import uPlot from 'uplot';
import { chartParts, pName } from './columns.js';
import { el, Tree } from './dom.js';
import { SeriesMap } from './history.js';

const COLORS = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#c53030', '#319795'];

/** Bucket counts from Angie's cumulative histogram ("le" buckets): bar n holds the observations of bucket n alone. */
function bucketCounts(data: Tree | undefined, keys: string[]): number[] {
  const cumulative = keys.map((k) => Number(data?.[k] ?? 0));
  return cumulative.map((v, i) => (i === 0 ? v : v - cumulative[i - 1]));
}

function barChart(title: string, keys: string[], box: HTMLElement): uPlot {
  const labels = keys.map((k) => `≤${k}`);
  const opts: uPlot.Options = {
    title,
    width: 520,
    height: 200,
    scales: { x: { time: false } },
    axes: [{ values: (_u, ticks) => ticks.map((t) => labels[t] ?? '') }, {}],
    series: [{}, { label: 'count', fill: '#90cdf4', stroke: '#2b6cb0', paths: uPlot.paths.bars!({ size: [0.7] }) }],
  };
  return new uPlot(opts, [labels.map((_l, i) => i), labels.map(() => 0)], box);
}

function lineChart(title: string, names: string[], box: HTMLElement): uPlot {
  const series: uPlot.Series[] = [{}, ...names.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length] }))];
  return new uPlot({ title, width: 520, height: 200, series }, [[], ...names.map(() => [])], box);
}

/**
 * The chart of the selected key: histograms as bars, quantiles as p-lines
 * over the history kept since the key was selected, plain values as a line.
 */
export class ZoneDetail {
  readonly root = el('div', { class: 'detail' });
  private key: string | undefined;
  private charts: Array<{ chart: uPlot; redraw(value: unknown): void }> = [];
  private readonly history = new SeriesMap();

  select(key: string): void {
    this.key = key;
    this.charts.forEach((c) => c.chart.destroy());
    this.charts = [];
    this.root.replaceChildren();
    this.history.retain(new Set());
  }

  get selected(): string | undefined {
    return this.key;
  }

  update(value: unknown): void {
    if (this.key === undefined) return;
    if (this.charts.length === 0) this.build(value);
    for (const c of this.charts) c.redraw(value);
  }

  private build(value: unknown): void {
    const key = this.key ?? '';
    for (const part of chartParts(value)) {
      const box = el('div', { class: 'chart', 'data-shape': part.shape });
      this.root.append(box);
      const title = `${key}${part.field ? ` ${part.field}` : ''}`;
      const pick = (v: unknown): unknown => (part.field === '' ? v : (v as Tree | undefined)?.[part.field]);
      if (part.shape === 'histogram') {
        const chart = barChart(`${title} (buckets)`, part.keys, box);
        this.charts.push({ chart, redraw: (v) => chart.setData([chart.data[0], bucketCounts(pick(v) as Tree | undefined, part.keys)]) });
        continue;
      }
      const label = (k: string): string => (k === '' ? 'value' : part.shape === 'quantiles' ? pName(k) : k);
      const chart = lineChart(title, part.keys.map(label), box);
      this.charts.push({ chart, redraw: (v) => this.redrawLines(chart, part.field, part.keys, pick(v)) });
    }
  }

  private redrawLines(chart: uPlot, field: string, names: string[], v: unknown): void {
    const now = Date.now();
    const series = names.map((q) => {
      const s = this.history.get(`${field}/${q}`);
      const x = q === '' ? v : (v as Tree | undefined)?.[q];
      if (typeof x === 'number') s.push(now, x);
      return s;
    });
    chart.setData([series[0].times.map((t) => t / 1000), ...series.map((s) => s.values)]);
  }
}
