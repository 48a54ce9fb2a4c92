import uPlot from 'uplot';
import { branch, duration, el, isTree, num, Tree } from './dom.js';
import { SeriesMap } from './history.js';

/** Sums of the server zones: what the overview's counters are made of. */
function serverTotals(tree: Tree): { total: number; processing: number; r4xx: number; r5xx: number } {
  const sums = { total: 0, processing: 0, r4xx: 0, r5xx: 0 };
  for (const z of Object.values(branch(tree, 'http', 'server_zones') ?? {})) {
    if (!isTree(z)) continue;
    const req = branch(z, 'requests') ?? {};
    sums.total += Number(req.total ?? 0);
    sums.processing += Number(req.processing ?? 0);
    for (const [code, n] of Object.entries(branch(z, 'responses') ?? {})) {
      if (code.startsWith('4')) sums.r4xx += Number(n);
      if (code.startsWith('5')) sums.r5xx += Number(n);
    }
  }
  return sums;
}

function card(key: string, value: string, id: string): HTMLElement {
  const c = el('div', { class: 'card', id });
  c.append(el('div', { class: 'k' }, key), el('div', { class: 'v' }, value));
  return c;
}

/** The overview: request, error and connection rates, in-flight, uptime, generation, and a rate chart. */
export class Overview {
  readonly root = el('section', { class: 'view', id: 'view-overview' });
  private readonly cards = el('div', { class: 'cards' });
  private readonly history = new SeriesMap();
  private chart: uPlot | undefined;
  private readonly chartBox = el('div', { class: 'panel', id: 'overview-chart' });

  constructor() {
    this.root.append(this.cards, this.chartBox);
  }

  update(tree: Tree, now: number): void {
    const totals = serverTotals(tree);
    const conns = branch(tree, 'connections') ?? {};
    const angie = branch(tree, 'angie') ?? {};
    const rate = (name: string, v: number): number | undefined => {
      const s = this.history.get(name);
      s.push(now, v);
      return s.rate();
    };
    const loadTime = Date.parse(String(angie.load_time ?? ''));
    this.cards.replaceChildren(
      card('requests/s', num(rate('req', totals.total)), 'ov-rps'),
      card('requests total', num(totals.total), 'ov-requests'),
      card('4xx/s', num(rate('4xx', totals.r4xx)), 'ov-4xx'),
      card('5xx/s', num(rate('5xx', totals.r5xx)), 'ov-5xx'),
      card('in flight', num(totals.processing), 'ov-inflight'),
      card('connections active', num(Number(conns.active ?? 0)), 'ov-active'),
      card('connections/s', num(rate('conn', Number(conns.accepted ?? 0))), 'ov-cps'),
      card('dropped', num(Number(conns.dropped ?? 0)), 'ov-dropped'),
      card('up since load', Number.isNaN(loadTime) ? '–' : duration(now - loadTime), 'ov-uptime'),
      card('config generation', String(angie.generation ?? '–'), 'ov-generation'),
    );
    this.drawChart();
  }

  private drawChart(): void {
    const req = this.history.get('req');
    const data: uPlot.AlignedData = [req.times.map((t) => t / 1000), req.rates(), this.history.get('4xx').rates(), this.history.get('5xx').rates()];
    if (this.chart === undefined) {
      const opts: uPlot.Options = {
        title: 'requests per second',
        width: 760,
        height: 220,
        series: [{}, { label: 'requests/s', stroke: '#2b6cb0' }, { label: '4xx/s', stroke: '#b7791f' }, { label: '5xx/s', stroke: '#c53030' }],
      };
      this.chart = new uPlot(opts, data, this.chartBox);
    } else {
      this.chart.setData(data);
    }
  }
}
