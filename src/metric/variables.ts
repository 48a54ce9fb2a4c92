import type { HttpContext } from '../http/context';
import type { VariableRegistry } from '../http/variables';
import { splitKeyValue } from './directives';
import type { MetricEngine, MetricZone } from './engine';
import { parseMetricValue } from './strtod';
import { acceptKey, cutKey } from './zone';

/** What `$metric_NAME*` remember within one request, per zone: the key last set (Angie's vctx->key). */
interface VarState {
  key: string;
}

function stateOf(r: HttpContext, zone: string): VarState {
  let all = r.moduleCtx.metricVars as Map<string, VarState> | undefined;
  if (all === undefined) r.moduleCtx.metricVars = all = new Map();
  let s = all.get(zone);
  if (s === undefined) all.set(zone, (s = { key: '' }));
  return s;
}

/**
 * `$metric_NAME` (set `key=value`: update now and remember the key; read:
 * `key=` and the key's current state), `$metric_NAME_key`,
 * `$metric_NAME_value` (setting it updates the key set before; reading gives
 * the key's current state), and for complex zones `$metric_NAME_value_SUB`.
 * As in Angie, every read looks the remembered key up in the zone: a key
 * never set, or not (or no longer) in the zone, reads as not found.
 */
export function defineMetricVariables(vars: VariableRegistry, bound: MetricZone, engine: MetricEngine): void {
  const def = bound.def;
  const zone = def.name;
  const present = (s: string) => (s === '' ? undefined : s);
  vars.define(
    `metric_${zone}`,
    (r) => {
      const key = stateOf(r, zone).key;
      const state = key === '' ? undefined : engine.keyText(zone, key);
      return state === undefined ? undefined : `${key}=${state}`;
    },
    (r, text) => {
      const { key, value } = splitKeyValue(text);
      const accepted = acceptKey(def, key);
      if (accepted === undefined) return;
      engine.record(bound, accepted, parseMetricValue(value));
      stateOf(r, zone).key = accepted;
    },
  );
  vars.define(
    `metric_${zone}_key`,
    (r) => present(stateOf(r, zone).key),
    (r, key) => void (stateOf(r, zone).key = cutKey(key)),
  );
  vars.define(
    `metric_${zone}_value`,
    (r) => {
      const key = stateOf(r, zone).key;
      return key === '' ? undefined : engine.keyText(zone, key);
    },
    (r, value) => {
      const key = acceptKey(def, stateOf(r, zone).key);
      if (key === undefined) return;
      engine.record(bound, key, parseMetricValue(value));
    },
  );
  if (!def.complex) return;
  for (const m of def.metrics) {
    vars.define(`metric_${zone}_value_${m.name}`, (r) => {
      const key = stateOf(r, zone).key;
      return key === '' ? undefined : engine.keyText(zone, key, m.name);
    });
  }
}
