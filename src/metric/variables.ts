import type { HttpContext } from '../http/context';
import type { VariableRegistry } from '../http/variables';
import { splitKeyValue } from './directives';
import type { MetricEngine } from './engine';
import { MAX_METRIC_BYTES, parseMetricValue } from './strtod';
import type { ZoneDef } from './zone';

/** What `$metric_NAME*` remember within one request, per zone. */
interface VarState {
  key: string;
  /** The last `key=value` set, as `$metric_NAME` reads it back. */
  pair: string;
}

function stateOf(r: HttpContext, zone: string): VarState {
  let all = r.moduleCtx.metricVars as Map<string, VarState> | undefined;
  if (all === undefined) r.moduleCtx.metricVars = all = new Map();
  let s = all.get(zone);
  if (s === undefined) all.set(zone, (s = { key: '', pair: '' }));
  return s;
}

const cut = (s: string) => (s.length > MAX_METRIC_BYTES ? s.slice(0, MAX_METRIC_BYTES) : s);

/** True when Angie's handler would accept the key (not empty, not the reserved discard key). */
function accepted(def: ZoneDef, key: string): boolean {
  return key !== '' && key !== def.discardKey;
}

/**
 * `$metric_NAME` (set `key=value`: update now; read: the pair),
 * `$metric_NAME_key`, `$metric_NAME_value` (setting it updates the key set
 * before; reading gives the key's state after the update), and for complex
 * zones `$metric_NAME_value_SUB`.
 */
export function defineMetricVariables(vars: VariableRegistry, def: ZoneDef, engine: MetricEngine): void {
  const zone = def.name;
  const present = (s: string) => (s === '' ? undefined : s);
  vars.define(
    `metric_${zone}`,
    (r) => present(stateOf(r, zone).pair),
    (r, text) => {
      const { key, value } = splitKeyValue(text);
      if (!accepted(def, key)) return;
      engine.apply([{ zone, key: cut(key), value: parseMetricValue(value) }]);
      const s = stateOf(r, zone);
      s.pair = cut(text);
      s.key = cut(key);
    },
  );
  vars.define(
    `metric_${zone}_key`,
    (r) => present(stateOf(r, zone).key),
    (r, key) => void (stateOf(r, zone).key = cut(key)),
  );
  vars.define(
    `metric_${zone}_value`,
    (r) => {
      const key = stateOf(r, zone).key;
      return key === '' ? undefined : engine.keyText(zone, key);
    },
    (r, value) => {
      const s = stateOf(r, zone);
      if (!accepted(def, s.key)) return;
      engine.apply([{ zone, key: s.key, value: parseMetricValue(value) }]);
      s.pair = cut(`${s.key}=${value}`);
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
