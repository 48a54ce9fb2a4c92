import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import { ConfSlot, type Scope } from '../config/registry';
import type { Builder } from '../http/builder';
import type { HttpContext } from '../http/context';
import { answer } from '../http/answer';
import { ComplexValue } from '../http/variables';
import type { Module } from '../http/module';
import { defineVariables, EffectiveLimits, LimitConf, limitKey, logLimit, mergeLimits, quieter, settingDirectives } from './directives';
import { decide, ReqDecision } from './req-decide';
import type { ReqLimit } from './req-bucket';
import { limitSpace, LimitSpace } from './space';
import { delayRequest, resume } from './suspend';
import { parseRate, parseZoneArg } from './zone';
import { syncFromZoneArgs } from '../config/sync-target';

const NAME = 'limit_req';

/** One `limit_req` as written; its zone is resolved once every zone is known. */
interface ReqLimitSpec {
  zoneName: string;
  burst: number;
  delay: number;
  file: string;
  line: number;
}

type ReqConf = LimitConf<ReqLimitSpec>;
type ReqEffective = EffectiveLimits<ReqLimitSpec, ReqLimit>;
const SLOT = new ConfSlot<ReqEffective, ReqConf>(NAME);

/** `nodelay`: nginx's NGX_MAX_INT_T_VALUE / 1000 requests, i.e. never delay. */
const NO_DELAY = Number.MAX_SAFE_INTEGER;

function parseZoneDirective(space: LimitSpace, b: Builder, d: Directive): void {
  let zone: { name: string; size: number } | undefined;
  let rate = 1000;
  const sync: { url?: string; interval?: string } = {};
  for (const arg of d.args.slice(1)) {
    if (arg.startsWith('zone=')) zone = parseZoneArg(arg);
    else if (arg.startsWith('rate=')) rate = parseRate(arg);
    else if (arg.startsWith('sync=')) sync.url = arg.slice('sync='.length);
    else if (arg.startsWith('sync_interval=')) sync.interval = arg.slice('sync_interval='.length);
    else throw new ConfigError(`invalid parameter "${arg}"`);
  }
  if (zone === undefined) throw new ConfigError(`"${d.name}" must have "zone" parameter`);
  const key = ComplexValue.compile(d.args[0], b.variables, d.file, d.line);
  space.declare({ kind: NAME, name: zone.name, size: zone.size, key, rate, sync: syncFromZoneArgs(sync.url, sync.interval) });
}

function positive(arg: string, what: string): number {
  const v = arg.slice(arg.indexOf('=') + 1);
  const n = /^\d+$/.test(v) ? Number(v) : 0;
  if (n <= 0 || !Number.isSafeInteger(n * 1000)) throw new ConfigError(`invalid ${what} value "${arg}"`);
  return n * 1000;
}

/** `limit_req zone=NAME [burst=N] [nodelay | delay=N];` */
function parseLimit(d: Directive): ReqLimitSpec {
  const spec: ReqLimitSpec = { zoneName: '', burst: 0, delay: 0, file: d.file, line: d.line };
  let delayArg: string | undefined;
  for (const arg of d.args) {
    if (arg.startsWith('zone=')) spec.zoneName = arg.slice(5);
    else if (arg.startsWith('burst=')) spec.burst = positive(arg, 'burst');
    else if (arg.startsWith('delay=') || arg === 'nodelay') {
      // nginx lets the last one win; two contradicting words are a mistake worth reporting.
      if (delayArg !== undefined) throw new ConfigError(`"${delayArg}" and "${arg}" cannot be used together`);
      delayArg = arg;
      spec.delay = arg === 'nodelay' ? NO_DELAY : positive(arg, 'delay');
    } else throw new ConfigError(`invalid parameter "${arg}"`);
  }
  if (spec.zoneName === '') throw new ConfigError(`"${d.name}" must have "zone" parameter`);
  return spec;
}

function addLimit(d: Directive, scope: Scope, all: ReqLimitSpec[]): void {
  const conf = SLOT.at(scope, () => ({}));
  const spec = parseLimit(d);
  all.push(spec);
  conf.specs ??= [];
  if (conf.specs.some((s) => s.zoneName === spec.zoneName)) throw new ConfigError(`"${d.name}" directive is duplicate`);
  conf.specs.push(spec);
}

function resolveLimits(space: LimitSpace, conf: ReqEffective): void {
  conf.limits = conf.specs.map((s) => {
    const zone = space.resolve(NAME, s);
    return { zone, rate: zone.def.rate, burst: s.burst, delay: s.delay };
  });
}

/** nginx prints excess in requests with three decimals. */
function excessText(excess: number): string {
  return `${Math.floor(excess / 1000)}.${String(excess % 1000).padStart(3, '0')}`;
}

function setStatus(r: HttpContext, status: string): void {
  r.moduleCtx[`${NAME}_status`] = status;
}

/** Marks a request whose limits were checked: the phase runs again when it resumes. */
const CHECKED = 'limit_req_checked';

/** Acts on the decision as ngx_http_limit_req_handler; true when the request was answered or suspended. */
function enforce(r: HttpContext, conf: ReqEffective, d: ReqDecision): boolean {
  const dry = conf.dryRun ? ', dry run' : '';
  if (d.kind === 'declined') return false;
  if (d.kind !== 'passed') {
    if (d.kind === 'rejected') logLimit(conf.logLevel, `limiting requests${dry}, excess: ${excessText(d.excess)} by zone "${d.zone}"`, r);
    else logLimit('alert', `could not allocate node in limit_req zone "${d.zone}"`, r);
    setStatus(r, conf.dryRun ? 'REJECTED_DRY_RUN' : 'REJECTED');
    if (conf.dryRun) return false;
    answer(r, conf.status, undefined);
    return true;
  }
  if (d.delayMs === 0) {
    setStatus(r, 'PASSED');
    return false;
  }
  logLimit(quieter(conf.logLevel), `delaying request${dry}, excess: ${excessText(d.excess)}, by zone "${d.zone}"`, r);
  setStatus(r, conf.dryRun ? 'DELAYED_DRY_RUN' : 'DELAYED');
  if (conf.dryRun) return false;
  delayRequest(r, d.delayMs);
  return true;
}

/**
 * nginx's limit_req: `limit_req_zone`, `limit_req` (several per level,
 * all checked), `limit_req_status`, `limit_req_log_level`,
 * `limit_req_dry_run`, `$limit_req_status`; shared by all workers
 * through the store (see req-bucket.ts).
 */
export function limitReqModule(b: Builder): Module {
  const space = limitSpace(b);
  const conf = (scope: Scope) => SLOT.at(scope, () => ({}));
  const allSpecs: ReqLimitSpec[] = [];
  return {
    name: NAME,
    directives: [
      { name: 'limit_req_zone', contexts: ['http'], args: '3..5', set: (d) => parseZoneDirective(space, b, d) },
      { name: 'limit_req', contexts: ['http', 'server', 'location'], args: '1..3', set: (d, scope) => addLimit(d, scope, allSpecs) },
      ...settingDirectives(NAME, conf),
    ],
    preconfiguration: (bb) => defineVariables(bb, NAME),
    merge: (parent, child) => mergeLimits(parent as ReqEffective | undefined, child as ReqConf | undefined),
    postconfiguration(bb) {
      // Every use, even at a level no server inherits, must name a declared zone.
      for (const spec of allSpecs) space.resolve(NAME, spec);
      for (const loc of bb.allLocations()) resolveLimits(space, SLOT.get(loc.conf));
      bb.api.mount('/status/http/limit_reqs', space.statusNode(NAME));
      // Before allow/deny, as nginx's preaccess phase; limit_conn (registered earlier) runs after.
      bb.phases.access.unshift((r) => {
        const c = SLOT.get(r.loc.conf);
        if (c.limits.length === 0 || r.moduleCtx[CHECKED] !== undefined) return false;
        r.moduleCtx[CHECKED] = true;
        const keys = c.limits.map((l) => limitKey(r, l.zone.def));
        space.enqueue<ReqDecision>({
          decide: (tx) => decide(tx, c.limits, keys, Date.now()),
          fallback: { kind: 'declined' },
          act: (d) => resume(r, () => enforce(r, c, d)),
        });
        return true;
      });
    },
    initWorker: (rt) => space.initWorker(rt),
    exitWorker: () => space.exitWorker(),
  };
}
