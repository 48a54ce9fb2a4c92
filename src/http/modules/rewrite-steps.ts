import { ConfigError } from '../../config/errors';
import type { Directive } from '../../config/parser';
import { Scope } from '../../config/registry';
import type { DirectiveSpec } from '../../config/registry';
import type { Builder } from '../builder';
import { LocationConf, serverOf } from '../conf';
import type { HttpContext } from '../context';
import { compileRegex } from '../../config/regex';
import { logRequest } from '../error-log';
import { compileCondition } from './if-condition';
import { addStep, Flow, REWRITE, runSteps, Step } from './rewrite';
import { answer } from '../answer';
import { ComplexValue, defineNamedCaptures } from '../variables';

const FLAGS = ['last', 'break', 'redirect', 'permanent'];

/** Whether `rewrite_log on` holds where the request is. */
function rewriteLogOn(r: HttpContext): boolean {
  return REWRITE.of(r.loc.conf)?.log === true;
}

/** The new $args: the replacement's own first, then (unless it ended in `?`) the request's. */
function joinArgs(own: string | undefined, old: string, keepOld: boolean): string {
  if (!keepOld) return own ?? '';
  if (own === undefined) return old;
  return old === '' ? own : `${own}&${old}`;
}

/**
 * `rewrite REGEX REPLACEMENT [last|break|redirect|permanent]`: a match
 * replaces $uri (and $args after a `?`); `http://`, `https://`, `$scheme`
 * or redirect/permanent answer 302/301 with the result as Location.
 */
function compileRewrite(d: Directive, b: Builder): Step {
  const [pattern, replacement, flag] = d.args;
  if (flag !== undefined && !FLAGS.includes(flag)) throw new ConfigError(`invalid parameter "${flag}"`);
  const re = compileRegex(pattern, false);
  defineNamedCaptures(re, b.variables);
  const external = /^(https?:\/\/|\$scheme)/.test(replacement);
  const status = flag === 'permanent' ? 301 : flag === 'redirect' || external ? 302 : 0;
  const keepOld = !replacement.endsWith('?');
  const target = keepOld ? replacement : replacement.slice(0, -1);
  const q = target.indexOf('?');
  const compile = (t: string) => ComplexValue.compile(t, b.variables, d.file, d.line);
  const uriPart = compile(q < 0 ? target : target.slice(0, q));
  const argsPart = q < 0 ? undefined : compile(target.slice(q + 1));
  return (r) => {
    const m = re.exec(r.uri);
    if (rewriteLogOn(r)) logRequest(r, 'notice', `"${pattern}" ${m === null ? 'does not match' : 'matches'} "${r.uri}"`);
    if (m === null) return Flow.next;
    r.captures = Array.from(m, (s) => s ?? '');
    r.namedCaptures = m.groups ? { ...m.groups } : null;
    const uri = uriPart.eval(r);
    const args = joinArgs(argsPart?.eval(r), r.args, keepOld);
    if (status !== 0) {
      const location = args === '' ? uri : `${uri}?${args}`;
      if (rewriteLogOn(r)) logRequest(r, 'notice', `rewritten redirect: "${location}"`);
      answer(r, status, location);
      return Flow.answered;
    }
    if (rewriteLogOn(r)) logRequest(r, 'notice', `rewritten data: "${uri}", args: "${args}"`);
    r.uri = uri;
    r.args = args;
    if (flag === 'break') return Flow.break;
    if (flag === 'last') return Flow.last;
    r.moduleCtx.uriChanged = true;
    return Flow.next;
  };
}

/**
 * `if (condition) { ... }`: an anonymous location (nginx's if-location).
 * When the condition holds the request takes its configuration and runs its
 * steps in place; the enclosing location's later steps still run after it.
 */
function openIf(d: Directive, scope: Scope, b: Builder): Scope {
  const enclosing = scope.owner instanceof LocationConf ? scope.owner : undefined;
  if (enclosing?.modifier === 'if') throw new ConfigError('"if" directive is not allowed here');
  const condition = compileCondition(d, b.variables);
  const server = serverOf(scope);
  const child = new Scope('location', scope);
  const ifLoc = new LocationConf(`if#${d.line}`, 'if', child, server, enclosing ?? server.root, d.file, d.line);
  child.owner = ifLoc;
  // The location search skips `if` locations; being listed makes the merge and every module's walk see them.
  (enclosing ? enclosing.children : server.locations).push(ifLoc);
  addStep(scope, (r) => {
    if (!condition(r)) return Flow.next;
    r.loc = ifLoc;
    return runSteps(REWRITE.of(ifLoc.conf), r);
  });
  return child;
}

function setFlag(field: 'log' | 'uninitializedWarn') {
  return (d: Directive, scope: Scope): void => {
    const v = d.args[0];
    if (v !== 'on' && v !== 'off') throw new ConfigError(`invalid value "${v}" in "${d.name}" directive, it must be "on" or "off"`);
    REWRITE.at(scope, () => ({ steps: [] }))[field] = v === 'on';
  };
}

/** `rewrite`, `break`, `if`, `rewrite_log`, `uninitialized_variable_warn`. */
export function rewriteStepDirectives(b: Builder): DirectiveSpec[] {
  const here = ['server', 'location'] as const;
  return [
    { name: 'rewrite', contexts: here, args: '2..3', set: (d, scope) => addStep(scope, compileRewrite(d, b)) },
    { name: 'break', contexts: here, args: '0', set: (_d, scope) => addStep(scope, () => Flow.break) },
    { name: 'if', contexts: here, args: '1+', block: 'walk', set: (d, scope) => openIf(d, scope, b) },
    { name: 'rewrite_log', contexts: ['http', ...here], args: '1', set: setFlag('log') },
    { name: 'uninitialized_variable_warn', contexts: ['http', ...here], args: '1', set: setFlag('uninitializedWarn') },
  ];
}
