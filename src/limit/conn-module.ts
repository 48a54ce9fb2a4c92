import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import { ConfSlot, type Scope } from '../config/registry';
import type { Builder } from '../http/builder';
import type { HttpContext } from '../http/context';
import { answer } from '../http/answer';
import { ComplexValue } from '../http/variables';
import type { Module } from '../http/module';
import { acquire, ConnDecision, ConnLimit, HeldSlot, release, sweepDeadHolders } from './conn-slots';
import { defineVariables, EffectiveLimits, LimitConf, limitKey, logLimit, mergeLimits, settingDirectives } from './directives';
import { limitSpace, LimitSpace } from './space';
import { resume } from './suspend';
import { parseZoneArg } from './zone';

const NAME = 'limit_conn';
const HELD = 'limit_conn_held';
/** Marks a request whose limits were checked: the phase runs again when it resumes. */
const CHECKED = 'limit_conn_checked';

interface ConnLimitSpec {
  zoneName: string;
  conn: number;
  file: string;
  line: number;
}

type ConnConf = LimitConf<ConnLimitSpec>;
type ConnEffective = EffectiveLimits<ConnLimitSpec, ConnLimit>;
const SLOT = new ConfSlot<ConnEffective, ConnConf>(NAME);

function parseZoneDirective(space: LimitSpace, b: Builder, d: Directive): void {
  const arg = d.args[1];
  if (!arg.startsWith('zone=')) throw new ConfigError(`invalid parameter "${arg}"`);
  const { name, size } = parseZoneArg(arg);
  const key = ComplexValue.compile(d.args[0], b.variables, d.file, d.line);
  space.declare({ kind: NAME, name, size, key, rate: 0 });
}

/** `limit_conn NAME N;` */
function addLimit(d: Directive, scope: Scope, all: ConnLimitSpec[]): void {
  const [zoneName, n] = d.args;
  const conn = /^\d+$/.test(n) ? Number(n) : 0;
  if (conn <= 0) throw new ConfigError(`invalid number of connections "${n}"`);
  if (conn > 65535) throw new ConfigError('connection limit must be less 65536');
  const conf = SLOT.at(scope, () => ({}));
  conf.specs ??= [];
  if (conf.specs.some((s) => s.zoneName === zoneName)) throw new ConfigError(`"${d.name}" directive is duplicate`);
  const spec = { zoneName, conn, file: d.file, line: d.line };
  conf.specs.push(spec);
  all.push(spec);
}

function resolveLimits(space: LimitSpace, conf: ConnEffective): void {
  conf.limits = conf.specs.map((s) => ({ zone: space.resolve(NAME, s), conn: s.conn }));
}

/** Acts on the decision as ngx_http_limit_conn_handler; true when the request was answered. */
function enforce(r: HttpContext, conf: ConnEffective, d: ConnDecision): boolean {
  if ('held' in d) {
    if (d.kind === 'passed') r.moduleCtx[`${NAME}_status`] = 'PASSED';
    if (d.held.length > 0) r.moduleCtx[HELD] = d.held;
    return false;
  }
  const dry = conf.dryRun ? ', dry run,' : '';
  if (d.kind === 'rejected') logLimit(conf.logLevel, `limiting connections${dry} by zone "${d.zone}"`, r);
  else logLimit('alert', `could not allocate node in limit_conn zone "${d.zone}"`, r);
  r.moduleCtx[`${NAME}_status`] = conf.dryRun ? 'REJECTED_DRY_RUN' : 'REJECTED';
  if (conf.dryRun) return false;
  answer(r, conf.status, undefined);
  return true;
}

/**
 * nginx's limit_conn: `limit_conn_zone`, `limit_conn`, `limit_conn_status`,
 * `limit_conn_log_level`, `limit_conn_dry_run`, `$limit_conn_status`. A
 * slot is held from the access phase to the log phase, which runs however
 * the request ends (aborts, upstream failures, WebSocket tunnels closing).
 */
export function limitConnModule(b: Builder): Module {
  const space = limitSpace(b);
  const conf = (scope: Scope) => SLOT.at(scope, () => ({}));
  const allSpecs: ConnLimitSpec[] = [];
  return {
    name: NAME,
    directives: [
      { name: 'limit_conn_zone', contexts: ['http'], args: '2', set: (d) => parseZoneDirective(space, b, d) },
      { name: 'limit_conn', contexts: ['http', 'server', 'location'], args: '2', set: (d, scope) => addLimit(d, scope, allSpecs) },
      ...settingDirectives(NAME, conf),
    ],
    preconfiguration: (bb) => defineVariables(bb, NAME),
    merge: (parent, child) => mergeLimits(parent as ConnEffective | undefined, child as ConnConf | undefined),
    postconfiguration(bb) {
      for (const spec of allSpecs) space.resolve(NAME, spec);
      for (const loc of bb.allLocations()) resolveLimits(space, SLOT.get(loc.conf));
      const zones = space.zones(NAME);
      space.onOpen.push((tx) => zones.forEach((z) => sweepDeadHolders(tx, z)));
      bb.api.mount('/status/http/limit_conns', space.statusNode(NAME));
      // Registered before limit_req's, so it runs after it (a delayed request holds no slot while it waits).
      bb.phases.access.unshift((r) => {
        const c = SLOT.get(r.loc.conf);
        if (c.limits.length === 0 || r.moduleCtx[CHECKED] !== undefined) return false;
        r.moduleCtx[CHECKED] = true;
        const keys = c.limits.map((l) => limitKey(r, l.zone.def));
        space.enqueue<ConnDecision>({
          decide: (tx) => acquire(tx, c.limits, keys, process.pid),
          fallback: { kind: 'declined', held: [] },
          act: (d) => {
            // The client left while the check was queued: what it took goes back at once.
            if (r.logged && 'held' in d) releaseLater(d.held);
            else resume(r, () => enforce(r, c, d));
          },
        });
        return true;
      });
      const releaseLater = (held: HeldSlot[]) => {
        if (held.length > 0) space.enqueue({ decide: (tx) => release(tx, held, process.pid), fallback: undefined, act: () => undefined });
      };
      bb.phases.log.push((r) => {
        const held = r.moduleCtx[HELD] as HeldSlot[] | undefined;
        r.moduleCtx[HELD] = undefined;
        if (held !== undefined) releaseLater(held);
      });
    },
    initWorker: (rt) => space.initWorker(rt),
    exitWorker: () => space.exitWorker(),
  };
}
