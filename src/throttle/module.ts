import { fromValue, type ApiNode } from '../api/tree';
import { locationOf } from '../http/conf';
import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import { ConfSlot, type Scope } from '../config/registry';
import type { Builder } from '../http/builder';
import type { HttpContext } from '../http/context';
import { answer } from '../http/answer';
import { ComplexValue } from '../http/variables';
import { release, sweepDeadHolders, type HeldSlot } from '../limit/conn-slots';
import { LimitSpace } from '../limit/space';
import { resume } from '../limit/suspend';
import { metricEngine } from '../metric/engine';
import { record } from '../status/snapshot';
import type { Module } from '../http/module';
import { recordView, throttleApiHandler } from './api';
import { checkWatch, parseThrottleZone } from './config';
import type { Verdict } from './enforce';
import { isActive } from './record';
import { ThrottleZone } from './zone-runtime';

const NAME = 'throttle';
/** A level's `throttle` (zone and key), inherited whole. */
const SLOT = new ConfSlot<{ use?: ThrottleUse }>(NAME);
const CHECKED = 'throttle_checked';
const HELD = 'throttle_held';
const RETRY_AFTER = 'throttle_retry_after';

/** `throttle ZONE KEY;` as written; the zone is resolved once every zone is known. */
interface ThrottleUse {
  zoneName: string;
  key: ComplexValue;
  zone?: ThrottleZone;
  file: string;
  line: number;
}

interface ThrottleState {
  space: LimitSpace;
  zones: Map<string, ThrottleZone>;
  uses: ThrottleUse[];
}

function declareZone(st: ThrottleState, d: Directive): void {
  const def = parseThrottleZone(d);
  if (st.zones.has(def.name)) throw new ConfigError(`throttle_zone "${def.name}" is already declared`);
  st.zones.set(def.name, new ThrottleZone(def, st.space));
}

function addUse(b: Builder, st: ThrottleState, d: Directive, scope: Scope): void {
  const use: ThrottleUse = { zoneName: d.args[0], key: ComplexValue.compile(d.args[1], b.variables, d.file, d.line), file: d.file, line: d.line };
  SLOT.at(scope, () => ({})).use = use;
  st.uses.push(use);
}

function resolve(st: ThrottleState, use: { zoneName: string; file: string; line: number }): ThrottleZone {
  const zone = st.zones.get(use.zoneName);
  if (zone === undefined) throw new ConfigError(`unknown throttle zone "${use.zoneName}"`, use.file, use.line);
  return zone;
}

/** `throttle_api ZONE;`: the location's content is the zone's API, keys after the location prefix. */
function addApi(b: Builder, st: ThrottleState, d: Directive, scope: Scope, apis: Array<() => void>): void {
  const loc = locationOf(scope);
  if (loc.modifier !== '' && loc.modifier !== '^~') throw new ConfigError('"throttle_api" directive must be in a prefix location');
  b.operatorApis.push({ kind: 'throttle', name: d.args[0], loc });
  apis.push(() => (loc.content = throttleApiHandler(resolve(st, { zoneName: d.args[0], file: d.file, line: d.line }), loc.name)));
}

/** Acts on the verdict; true when the request was answered. */
function enforce(r: HttpContext, zone: ThrottleZone, v: Verdict): boolean {
  if (v.kind === 'none') return false;
  if (v.kind === 'passed') {
    r.moduleCtx[`${NAME}_status`] = 'PASSED';
    if (v.held.length > 0) r.moduleCtx[HELD] = v.held;
    return false;
  }
  r.moduleCtx[`${NAME}_status`] = 'REJECTED';
  r.moduleCtx[RETRY_AFTER] = String(v.retryAfter);
  answer(r, zone.def.status, undefined);
  return true;
}

/** `/status/http/throttle_zones/NAME`: counters, how many keys are throttled now, and every key's record. */
function statusNode(st: ThrottleState): () => ApiNode {
  return () => {
    const out = record<unknown>();
    const now = Date.now();
    for (const zone of st.zones.values()) {
      out[zone.def.name] = zone.read((t) => {
        const all = zone.recs.all(t);
        const keys = Object.fromEntries(all.map(([k, rec]) => [k, recordView(k, rec)]));
        return { throttled: all.filter(([, rec]) => isActive(rec, now)).length, ...zone.recs.counters(t), ...zone.statusExtra?.(t), keys };
      }, null);
    }
    return fromValue(out as Parameters<typeof fromValue>[0]);
  };
}

/** The throttle zones of this load (the fleet sync's view). */
export function throttleZones(b: Builder): ThrottleZone[] {
  return [...b.moduleState<ThrottleState>(NAME, newState).zones.values()];
}

const newState = (): ThrottleState => ({ space: new LimitSpace(), zones: new Map(), uses: [] });

/**
 * Throttling driven by the metrics: `throttle_zone` (what to watch, when
 * to throttle, what to apply), `throttle` (which requests it applies to),
 * `throttle_api` (the operators' API), `$throttle_status`.
 */
export function throttleModule(b: Builder): Module {
  const st = b.moduleState<ThrottleState>(NAME, newState);
  const apis: Array<() => void> = [];
  const releaseLater = (held: HeldSlot[]) => st.space.enqueue({ decide: (tx) => release(tx, held, process.pid), fallback: undefined, act: () => undefined });
  const onAccess = (r: HttpContext): boolean => {
    const use = SLOT.of(r.loc.conf)?.use;
    if (use?.zone === undefined || r.moduleCtx[CHECKED] !== undefined) return false;
    r.moduleCtx[CHECKED] = true;
    const key = use.key.eval(r);
    const zone = use.zone;
    // Most keys have no throttle: a read snapshot says so without a write transaction.
    if (key === '' || !zone.read((t) => isActive(zone.recs.get(t, key), Date.now()), false)) return false;
    st.space.enqueue<Verdict>({
      decide: (tx) => zone.enforcer.decide(tx, key, process.pid, Date.now()),
      fallback: { kind: 'none' },
      act: (v) => {
        if (r.logged && v.kind === 'passed') releaseLater(v.held);
        else resume(r, () => enforce(r, zone, v));
      },
    });
    return true;
  };
  return {
    name: NAME,
    directives: [
      { name: 'throttle_zone', contexts: ['http'], args: '1', block: 'raw', set: (d) => declareZone(st, d) },
      { name: 'throttle', contexts: ['http', 'server', 'location'], args: '2', unique: true, set: (d, scope) => addUse(b, st, d, scope) },
      { name: 'throttle_api', contexts: ['location'], args: '1', unique: true, set: (d, scope) => addApi(b, st, d, scope, apis) },
    ],
    preconfiguration: (bb) => bb.variables.define('throttle_status', (r) => r.moduleCtx[`${NAME}_status`] as string | undefined),
    merge: (parent, child) => child ?? parent,
    postconfiguration(bb) {
      const engine = metricEngine(bb);
      for (const zone of st.zones.values()) checkWatch(zone.def, engine.zones);
      for (const use of st.uses) use.zone = resolve(st, use);
      for (const api of apis) api();
      if (st.zones.size === 0) return;
      st.space.onOpen.push((tx) => st.zones.forEach((z) => sweepDeadHolders(tx, z.enforcer.conns)));
      bb.api.mount('/status/http/throttle_zones', statusNode(st));
      bb.phases.access.unshift(onAccess);
      bb.phases.header.push((r, headers) => {
        const retry = r.moduleCtx[RETRY_AFTER] as string | undefined;
        if (retry !== undefined) headers['retry-after'] = retry;
      });
      bb.phases.log.push((r) => {
        const held = r.moduleCtx[HELD] as HeldSlot[] | undefined;
        r.moduleCtx[HELD] = undefined;
        if (held !== undefined) releaseLater(held);
      });
    },
    // The space opens before the zones' samplers start and closes after they stop.
    initWorker(rt) {
      st.space.initWorker(rt);
      st.zones.forEach((z) => z.start(rt, metricEngine(b)));
    },
    exitWorker() {
      st.zones.forEach((z) => z.stop());
      st.space.exitWorker();
    },
  };
}
