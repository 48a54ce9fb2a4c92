import { ConfigError } from '../config/errors';
import { ConfSlot, type Scope } from '../config/registry';
import type { Builder } from '../http/builder';
import type { HttpContext } from '../http/context';
import type { Module } from '../http/module';
import { metricproxySlabsNode, metricSlabView, metricZonesNode, storeNode } from './api';
import { MetricDirective, parseMetric, parseMetricComplexZone, parseMetricStore, parseMetricZone, STAGES } from './directives';
import { metricEngine, MetricEngine } from './engine';
import { parseMetricValue } from './strtod';
import { defineMetricVariables } from './variables';
import { Zone, ZoneDef } from './zone';

/** A level's `metric` directives by stage (index in STAGES); a level with none inherits them all (Angie's merge). */
type MetricLocConf = MetricDirective[][];
const SLOT = new ConfSlot<MetricLocConf>('metric');

/**
 * parseMetricValue with a one-entry memo: under load most values repeat
 * (`1`, a status, a $request_time of a few milliseconds shared by every
 * directive of a request), and comparing a short string is cheaper than
 * scanning it as strtod does.
 */
let lastValueText = '';
let lastValue = 0;
function metricValue(text: string): number {
  if (text !== lastValueText) {
    lastValue = parseMetricValue(text);
    lastValueText = text;
  }
  return lastValue;
}

/** Records a stage's updates, in order; the engine commits them with the rest of this loop turn. */
function run(engine: MetricEngine, list: readonly MetricDirective[], r: HttpContext): void {
  for (let i = 0; i < list.length; i++) {
    const m = list[i];
    engine.record(m.zone, m.key.eval(r), metricValue(m.value.eval(r)));
  }
}

function addZone(b: Builder, engine: MetricEngine, def: ZoneDef, directive: string): void {
  if (engine.zones.has(def.name)) throw new ConfigError(`${directive} "${def.name}" is already exists`);
  new Zone(def); // validates the whole definition now, so errors carry this directive's line
  b.slabs.declare(def.name, 'metric', def.size, metricSlabView(engine, def.name));
  const zone = engine.addZone(def);
  // Its records and its LRU index: two named databases.
  b.store.reserve(def.size, 2);
  defineMetricVariables(b.variables, zone, engine);
}

function addMetric(engine: MetricEngine, b: Builder, d: Parameters<typeof parseMetric>[0], scope: Scope): void {
  const m = parseMetric(d, engine.bound, b.variables);
  SLOT.at(scope, () => STAGES.map(() => []))[m.stage].push(m);
}

/** The first stage a request has not run yet (Angie's stage machine). */
const reachedOf = (r: HttpContext): number => (r.moduleCtx.metricStage as number | undefined) ?? 0;

/**
 * Stage `upTo`'s handler: runs its updates and those of every earlier stage
 * the request skipped; a location with none of them leaves the request where
 * it was (an internal redirect may still lead to one that has some). All go
 * into one transaction with the rest of this loop turn's updates.
 */
function reach(engine: MetricEngine, r: HttpContext, upTo: number): void {
  const stages = SLOT.of(r.loc?.conf);
  if (stages === undefined) return;
  let ran = false;
  for (let i = reachedOf(r); i <= upTo; i++) {
    if (stages[i].length === 0) continue;
    run(engine, stages[i], r);
    ran = true;
  }
  if (ran) r.moduleCtx.metricStage = upTo + 1;
}

/**
 * Angie's metric module: zones, `metric` updates bound to the request,
 * response and end stages, `$metric_*` variables, and the
 * `/status/http/metric_zones/` branch of the status tree.
 */
export function metricModule(b: Builder): Module {
  const engine = metricEngine(b);
  return {
    name: 'metric',
    directives: [
      {
        name: 'metric_store', contexts: ['http'], args: '1..2', unique: true,
        set: (d) => void ({ dir: b.store.dir, sizeBytes: b.store.sizeBytes } = parseMetricStore(d)),
      },
      { name: 'metric_zone', contexts: ['http'], args: '2+', set: (d) => addZone(b, engine, parseMetricZone(d), d.name) },
      {
        name: 'metric_complex_zone', contexts: ['http'], args: '1..3', block: 'raw',
        set: (d) => addZone(b, engine, parseMetricComplexZone(d), d.name),
      },
      { name: 'metric', contexts: ['http', 'server', 'location'], args: '2..3', set: (d, scope) => addMetric(engine, b, d, scope) },
    ],
    merge: (parent, child) => child ?? parent,
    // Attached even without zones: /status/store reports the store.
    initWorker: (rt) => engine.open(rt.store.current, rt.commits),
    exitWorker: () => engine.close(),
    postconfiguration(bb) {
      bb.api.mount('/status/store', storeNode(engine));
      if (engine.zones.size === 0) return;
      STAGES.forEach((stage, i) => stage.phase(bb.phases, (r) => reach(engine, r, i)));
      bb.api.mount('/status/http/metric_zones', metricZonesNode(engine));
      bb.api.mount('/status/metricproxy/slabs', metricproxySlabsNode(engine));
    },
  };
}
