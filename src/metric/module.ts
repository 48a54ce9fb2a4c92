import { ConfigError } from '../config/errors';
import type { Scope } from '../config/registry';
import type { Builder } from '../http/builder';
import type { HttpContext } from '../http/context';
import type { Module } from '../http/module';
import { metricproxySlabsNode, metricSlabView, metricZonesNode, storeNode } from './api';
import { MetricDirective, parseMetric, parseMetricComplexZone, parseMetricStore, parseMetricZone, Stage } from './directives';
import { metricEngine, MetricEngine } from './engine';
import { parseMetricValue } from './strtod';
import { defineMetricVariables } from './variables';
import { Zone, ZoneDef } from './zone';

/** A level's `metric` directives by stage; a level with none inherits all three (Angie's merge). */
interface MetricLocConf {
  request: MetricDirective[];
  response: MetricDirective[];
  end: MetricDirective[];
}

/** Angie's stage machine: which stages of the request have run. */
const STAGE_REQUEST = 0;
const STAGE_RESPONSE = 1;
const STAGE_END = 2;

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
  engine.zones.set(def.name, def);
  // Its records and its LRU index: two named databases.
  b.store.reserve(def.size, 2);
  defineMetricVariables(b.variables, def, engine);
}

function addMetric(engine: MetricEngine, b: Builder, d: Parameters<typeof parseMetric>[0], scope: Scope): void {
  const m = parseMetric(d, engine.zones, b.variables);
  const conf = scope.conf<MetricLocConf>('metric', () => ({ request: [], response: [], end: [] }));
  conf[m.stage as Stage].push(m);
}

/**
 * Angie's metric module: zones, `metric` updates bound to the request,
 * response and end stages, `$metric_*` variables, and the
 * `/status/http/metric_zones/` branch of the status tree.
 */
export function metricModule(b: Builder): Module {
  const engine = metricEngine(b);
  const stageOf = (r: HttpContext): number => (r.moduleCtx.metricStage as number | undefined) ?? STAGE_REQUEST;

  const onRequest = (r: HttpContext): boolean => {
    const conf = r.loc.conf.metric as MetricLocConf | undefined;
    if (conf === undefined || conf.request.length === 0 || stageOf(r) !== STAGE_REQUEST) return false;
    run(engine, conf.request, r);
    r.moduleCtx.metricStage = STAGE_RESPONSE;
    return false;
  };

  const onHeader = (r: HttpContext): void => {
    const conf = r.loc?.conf.metric as MetricLocConf | undefined;
    if (conf === undefined) return;
    if (stageOf(r) === STAGE_REQUEST && conf.request.length > 0) run(engine, conf.request, r);
    r.moduleCtx.metricStage = STAGE_END;
    if (conf.response.length > 0) run(engine, conf.response, r);
  };

  // The log phase runs whatever stages the request never reached (returns, errors, aborts).
  const onEnd = (r: HttpContext): void => {
    const conf = r.loc?.conf.metric as MetricLocConf | undefined;
    if (conf === undefined) return;
    const stage = stageOf(r);
    // All go into this loop turn's one transaction.
    if (stage <= STAGE_REQUEST) run(engine, conf.request, r);
    if (stage <= STAGE_RESPONSE) run(engine, conf.response, r);
    run(engine, conf.end, r);
  };

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
    merge(parent, child) {
      const c = child as MetricLocConf | undefined;
      return c !== undefined ? c : parent;
    },
    // Attached even without zones: /status/store reports the store.
    initWorker: (rt) => engine.open(rt.store.current, rt.commits),
    exitWorker: () => engine.close(),
    postconfiguration(bb) {
      bb.api.mount('/status/store', storeNode(engine));
      if (engine.zones.size === 0) return;
      bb.phases.precontent.push(onRequest);
      bb.phases.header.push(onHeader);
      bb.phases.log.push(onEnd);
      bb.api.mount('/status/http/metric_zones', metricZonesNode(engine));
      bb.api.mount('/status/metricproxy/slabs', metricproxySlabsNode(engine));
    },
  };
}
