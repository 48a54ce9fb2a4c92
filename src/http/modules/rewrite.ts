import { ConfigError } from '../../config/errors';
import type { Directive } from '../../config/parser';
import { ConfSlot, type Scope } from '../../config/registry';
import type { Module } from '../module';
import type { Builder } from '../builder';
import type { HttpContext } from '../context';
import { logRequest } from '../error-log';
import { researchLocation } from '../redirect';
import { answer } from '../answer';
import { rewriteStepDirectives } from './rewrite-steps';
import { ComplexValue, VariableDef } from '../variables';

/** What a rewrite-phase step leaves the request to: go on, answered, stop the steps, search the locations again. */
export const Flow = { next: 0, answered: 1, break: 2, last: 3 } as const;
export type Flow = (typeof Flow)[keyof typeof Flow];

/** One compiled rewrite-phase step, run in file order. */
export type Step = (r: HttpContext) => Flow;

export interface RewriteConf {
  steps: Step[];
  /** rewrite_log: matches and results as [notice] lines (inherited). */
  log?: boolean;
  /** uninitialized_variable_warn: a `set` variable read before it was set is a [warn] line (inherited, default on). */
  uninitializedWarn?: boolean;
}
/** The rewrite module's slot: its steps and switches per level. */
export const REWRITE = new ConfSlot<RewriteConf>('rewrite');


function compileReturn(d: Directive, b: Builder): Step {
  const [first, second] = d.args;
  let status: number;
  let text: ComplexValue | undefined;
  if (/^\d+$/.test(first)) {
    status = Number(first);
    if (status > 999) throw new ConfigError(`invalid return code "${first}"`);
    if (second !== undefined) text = ComplexValue.compile(second, b.variables, d.file, d.line);
  } else if (d.args.length === 1 && /^(https?:\/\/|\$scheme)/.test(first)) {
    status = 302;
    text = ComplexValue.compile(first, b.variables, d.file, d.line);
  } else {
    throw new ConfigError(`invalid return code "${first}"`);
  }
  return (r) => {
    if (status === 444) {
      r.status = 444;
      r.res.destroy();
      return Flow.answered;
    }
    answer(r, status, text?.eval(r));
    return Flow.answered;
  };
}

/** A `set` variable read before any `set` ran: nginx's "using uninitialized" [warn] where enabled. */
function warnUninitialized(def: VariableDef): VariableDef {
  const get = def.get;
  def.get = (r) => {
    const v = get(r);
    if (v === undefined && REWRITE.of(r.loc.conf)?.uninitializedWarn !== false) {
      logRequest(r, 'warn', `using uninitialized "${def.name}" variable`);
    }
    return v;
  };
  return def;
}

function compileSet(d: Directive, b: Builder): Step {
  const name = d.args[0];
  if (!name.startsWith('$') || name.length < 2) throw new ConfigError(`invalid variable name "${name}"`);
  const varName = name.slice(1);
  let def: VariableDef | undefined = b.variables.lookup(varName);
  if (def === undefined) def = warnUninitialized(b.variables.declareUser(varName));
  const setter = def.set;
  if (setter === undefined) throw new ConfigError(`the "${varName}" variable cannot be changed`);
  const value = ComplexValue.compile(d.args[1], b.variables, d.file, d.line);
  return (r) => {
    setter(r, value.eval(r));
    return Flow.next;
  };
}

export function addStep(scope: Scope, step: Step): void {
  REWRITE.at(scope, () => ({ steps: [] })).steps.push(step);
}

/** Runs steps until one answers, breaks or asks for a new location search. */
export function runSteps(conf: RewriteConf | undefined, r: HttpContext): Flow {
  if (conf === undefined) return Flow.next;
  for (const step of conf.steps) {
    const flow = step(r);
    if (flow !== Flow.next) return flow;
  }
  return Flow.next;
}

/** The location's steps; a changed URI (`last`, or a flagless `rewrite`) searches the locations again. */
function locationRewrite(r: HttpContext): boolean {
  if (r.loc === r.server.root) return false;
  r.moduleCtx.uriChanged = false;
  const flow = runSteps(REWRITE.of(r.loc.conf), r);
  if (flow === Flow.answered) return true;
  if (flow === Flow.break || (flow === Flow.next && r.moduleCtx.uriChanged !== true)) return false;
  researchLocation(r);
  return true;
}

/**
 * The rewrite module, run in file order in the rewrite phase: server-level
 * steps before the location is chosen, then the location's own. `set` and
 * `return` here; `rewrite`, `break`, `if` and their flags in rewrite-steps.ts.
 */
export function rewriteModule(b: Builder): Module {
  return {
    name: 'rewrite',
    directives: [
      { name: 'set', contexts: ['server', 'location'], args: '2', set: (d, scope) => addStep(scope, compileSet(d, b)) },
      { name: 'return', contexts: ['server', 'location'], args: '1..2', set: (d, scope) => addStep(scope, compileReturn(d, b)) },
      ...rewriteStepDirectives(b),
    ],
    // Steps are not inherited: each level runs its own (as nginx's rewrite module); the flags are.
    merge: (parent, child): RewriteConf => {
      const p = parent as RewriteConf | undefined;
      const c = child as RewriteConf | undefined;
      return { steps: c?.steps ?? [], log: c?.log ?? p?.log ?? false, uninitializedWarn: c?.uninitializedWarn ?? p?.uninitializedWarn ?? true };
    },
    postconfiguration(bb) {
      bb.phases.serverRewrite.push((r) => runSteps(REWRITE.of(r.server.root.conf), r) === Flow.answered);
      bb.phases.rewrite.push(locationRewrite);
    },
  };
}
