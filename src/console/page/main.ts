import { BranchView, HTTP_ZONES, LIMITS, UpstreamView } from './branches.js';
import { branch, el, isTree, Tree } from './dom.js';
import { MetricZones } from './metric-zones.js';
import { Overview } from './overview.js';
import { throttleKeyPanels } from './throttles.js';

/** Every view: a tab each; all are updated on each poll so histories keep growing while hidden. */
interface View {
  root: HTMLElement;
  update(tree: Tree, now: number): void;
}

const api = document.body.dataset.api ?? '/status/';
const views: Array<[string, View]> = [
  ['overview', new Overview()],
  ['HTTP zones', new BranchView('view-http', HTTP_ZONES)],
  ['upstreams', new UpstreamView()],
  ['metric zones', new MetricZones()],
  ['limits', new BranchView('view-limits', LIMITS, throttleKeyPanels)],
];
const banner = document.getElementById('banner')!;
const intervalInput = document.getElementById('interval') as HTMLInputElement;

function showTab(index: number): void {
  views.forEach(([, v], i) => (v.root.hidden = i !== index));
  document.querySelectorAll('#tabs button').forEach((b, i) => b.classList.toggle('on', i === index));
  location.hash = views[index][1].root.id;
}

function setup(): void {
  const tabs = document.getElementById('tabs')!;
  views.forEach(([title, v], i) => {
    const button = el('button', { 'data-view': v.root.id }, title);
    button.addEventListener('click', () => showTab(i));
    tabs.append(button);
    document.getElementById('views')!.append(v.root);
  });
  const fromHash = views.findIndex(([, v]) => `#${v.root.id}` === location.hash);
  showTab(Math.max(0, fromHash));
}

/** What the last good poll saw, to tell a reload (new generation) from a restart (lost connection). */
let lastGeneration: unknown;
let down = false;

function say(text: string, kind: 'down' | 'info' | undefined): void {
  banner.hidden = kind === undefined;
  banner.className = kind ?? '';
  banner.textContent = text;
}

/** An info banner that clears itself unless a newer banner replaced it. */
function notice(text: string): void {
  say(text, 'info');
  setTimeout(() => banner.textContent === text && say('', undefined), 5000);
}

async function poll(): Promise<void> {
  let tree: unknown;
  try {
    const res = await fetch(api, { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    tree = await res.json();
  } catch (err) {
    down = true;
    say(`Connection to ${api} lost (${(err as Error).message}); reconnecting…`, 'down');
    return;
  }
  if (!isTree(tree)) return;
  const generation = branch(tree, 'angie')?.generation;
  if (down) notice('Reconnected: the proxy restarted or came back; rates restart from here.');
  else if (lastGeneration !== undefined && generation !== lastGeneration) notice(`Configuration reloaded (generation ${String(generation)}).`);
  down = false;
  lastGeneration = generation;
  const now = Date.now();
  for (const [, v] of views) v.update(tree, now);
  document.body.dataset.polls = String(Number(document.body.dataset.polls ?? 0) + 1);
}

/** Polls on a timer that stops while the tab is hidden and honours the interval field. */
let timer: number | undefined;
function schedule(): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  if (document.hidden) return;
  const seconds = Math.max(0.2, Number(intervalInput.value) || 1);
  timer = window.setTimeout(() => void poll().finally(schedule), seconds * 1000);
}

setup();
intervalInput.addEventListener('change', schedule);
document.addEventListener('visibilitychange', () => (document.hidden ? schedule() : void poll().finally(schedule)));
void poll().finally(schedule);
