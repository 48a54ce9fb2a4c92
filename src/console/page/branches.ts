import { branch, el, isTree, Tree } from './dom.js';
import { SeriesMap } from './history.js';
import { entryTable } from './tables.js';

/** The branches a view shows as tables: [path in the tree, title]. Absent branches are left out. */
export type BranchList = Array<[string[], string]>;

export const HTTP_ZONES: BranchList = [
  [['http', 'server_zones'], 'server zones'],
  [['http', 'location_zones'], 'location zones'],
];

/** Rate limits and throttles, rendered generically whatever fields they carry. */
export const LIMITS: BranchList = [
  [['http', 'limit_reqs'], 'limit_reqs'],
  [['http', 'limit_conns'], 'limit_conns'],
  [['http', 'throttle_zones'], 'throttle_zones'],
];

/** A view of whole-branch tables, rebuilt each update (these tables are small). */
export class BranchView {
  readonly root: HTMLElement;
  private readonly history = new SeriesMap();

  constructor(
    id: string,
    private readonly list: BranchList,
    /** Panels of this view's own after the tables (the throttles' keys). */
    private readonly extra: (tree: Tree) => HTMLElement[] = () => [],
  ) {
    this.root = el('section', { class: 'view', id });
  }

  update(tree: Tree, now: number): void {
    const panels = this.list.flatMap(([path, title]) => {
      const b = branch(tree, ...path);
      return b === undefined ? [] : [entryTable(`${this.root.id}-${path.join('-')}`, title, b, this.history, now)];
    });
    panels.push(...this.extra(tree));
    this.root.replaceChildren(...(panels.length > 0 ? panels : [el('div', { class: 'empty' }, 'nothing of this kind is configured')]));
  }
}

/** Upstreams: one peer table per upstream. */
export class UpstreamView {
  readonly root = el('section', { class: 'view', id: 'view-upstreams' });
  private readonly history = new SeriesMap();

  update(tree: Tree, now: number): void {
    const ups = branch(tree, 'http', 'upstreams') ?? {};
    const panels = Object.entries(ups).flatMap(([name, up]) =>
      isTree(up) ? [entryTable(`upstream-${name}`, `upstream ${name}`, branch(up, 'peers') ?? {}, this.history, now)] : [],
    );
    this.root.replaceChildren(...(panels.length > 0 ? panels : [el('div', { class: 'empty' }, 'no upstreams with a zone')]));
  }
}
