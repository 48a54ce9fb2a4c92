import { ConfigError } from '../../config/errors';
import type { Directive } from '../../config/parser';
import { ConfSlot, type Scope } from '../../config/registry';
import type { Module } from '../module';
import type { Builder } from '../builder';
import { Cidr, cidrContains, ipBytes, parseCidr, unmapV4 } from '../ip';
import { answer } from '../answer';

interface Rule {
  allow: boolean;
  /** undefined means `all`. */
  cidr?: Cidr;
}

interface AccessConf {
  rules: Rule[];
}
const ACCESS = new ConfSlot<AccessConf>('access');

function addRule(d: Directive, scope: Scope): void {
  const allow = d.name === 'allow';
  const arg = d.args[0];
  let cidr: Cidr | undefined;
  if (arg !== 'all') {
    cidr = parseCidr(arg);
    if (cidr === undefined) throw new ConfigError(`invalid parameter "${arg}"`);
  }
  ACCESS.at(scope, () => ({ rules: [] })).rules.push({ allow, cidr });
}

/** Decides for an address: the first matching rule wins; no match allows. */
export function accessAllowed(rules: readonly Rule[], remoteAddr: string): boolean {
  const bytes = ipBytes(unmapV4(remoteAddr));
  for (const rule of rules) {
    if (rule.cidr === undefined || (bytes !== undefined && cidrContains(rule.cidr, bytes))) return rule.allow;
  }
  return true;
}

/** `allow` / `deny`: addresses, CIDRs (IPv4 and IPv6) and `all`; 403 when denied. */
export function accessModule(_b: Builder): Module {
  return {
    name: 'access',
    directives: [
      { name: 'allow', contexts: ['http', 'server', 'location'], args: '1', set: addRule },
      { name: 'deny', contexts: ['http', 'server', 'location'], args: '1', set: addRule },
    ],
    merge: (parent, child) => child ?? parent,
    postconfiguration(b) {
      b.phases.access.push((r) => {
        const conf = ACCESS.of(r.loc.conf);
        if (conf === undefined || accessAllowed(conf.rules, r.req.socket.remoteAddress ?? '')) return false;
        answer(r, 403, undefined);
        return true;
      });
    },
  };
}
