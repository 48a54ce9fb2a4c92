import { ConfigError, ConfigWarning } from '../config/errors';
import type { Directive } from '../config/parser';
import type { DirectiveSpec, Scope } from '../config/registry';
import { ComplexValue, VariableRegistry } from '../http/variables';
import type { BalancerSpec } from './balancers';
import type { UpstreamDecl } from './upstream-block';

/** The methods nginx gives no `backup` flag (their server flags lack NGX_HTTP_UPSTREAM_BACKUP). */
const NO_BACKUP = new Set<BalancerSpec['method']>(['hash', 'ip_hash', 'random']);

function setBalancer(d: Directive, scope: Scope, spec: BalancerSpec, warnings: ConfigWarning[]): UpstreamDecl {
  const decl = scope.owner as UpstreamDecl;
  if (decl.balancer !== undefined) warnings.push({ message: 'load balancing method redefined', file: d.file, line: d.line });
  decl.balancer = spec;
  return decl;
}

function hashSpec(d: Directive): BalancerSpec {
  if (d.args.length === 1) return { method: 'hash', consistent: false };
  if (d.args[1] === 'consistent') return { method: 'hash', consistent: true };
  throw new ConfigError(`invalid parameter "${d.args[1]}"`);
}

function randomSpec(d: Directive): BalancerSpec {
  const [two, how] = d.args;
  if (two !== undefined && two !== 'two') throw new ConfigError(`invalid parameter "${two}"`);
  // `least_conn` is the only way `two` chooses, and its default.
  if (how !== undefined && how !== 'least_conn') throw new ConfigError(`invalid parameter "${how}"`);
  return { method: 'random', two: two !== undefined };
}

/** `least_conn`, `hash KEY [consistent]`, `ip_hash`, `random [two [least_conn]]` in an upstream block. */
export function balancerDirectives(warnings: ConfigWarning[], variables: VariableRegistry): DirectiveSpec[] {
  return [
    { name: 'least_conn', contexts: ['upstream'], args: '0', set: (d, scope) => void setBalancer(d, scope, { method: 'least_conn' }, warnings) },
    { name: 'ip_hash', contexts: ['upstream'], args: '0', set: (d, scope) => void setBalancer(d, scope, { method: 'ip_hash' }, warnings) },
    { name: 'random', contexts: ['upstream'], args: '0..2', set: (d, scope) => void setBalancer(d, scope, randomSpec(d), warnings) },
    {
      name: 'hash', contexts: ['upstream'], args: '1..2',
      set: (d, scope) => {
        const key = ComplexValue.compile(d.args[0], variables, d.file, d.line);
        setBalancer(d, scope, hashSpec(d), warnings).hashKey = key;
      },
    },
  ];
}

/**
 * nginx refuses `backup` under hash, ip_hash and random ("balancing method
 * does not support parameter"). nginx checks only servers after the method;
 * here the order does not matter: a backup those methods never use is refused.
 */
export function checkBackups(decl: UpstreamDecl): void {
  if (decl.balancer === undefined || !NO_BACKUP.has(decl.balancer.method)) return;
  const backup = decl.servers.find((s) => s.backup);
  if (backup !== undefined) throw new ConfigError('balancing method does not support parameter "backup"', backup.file, backup.line);
}
