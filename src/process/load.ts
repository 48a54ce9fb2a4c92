import * as path from 'node:path';
import { Builder } from '../http/builder';
import type { LocationConf } from '../http/conf';
import { defineCoreVariables } from '../http/core-variables';
import { Runtime } from '../http/runtime';
import { MODULES } from './modules';
import { COMMAND_LINE, type ConfigWarning } from '../config/errors';
import { Directive, parseFile, parseText } from '../config/parser';

export interface LoadOptions {
  prefix: string;
  /** `-g` directives, applied in the main context after the file. */
  globalDirectives?: string;
  /** Inline text instead of reading `file` (tests). */
  text?: string;
}

export interface Loaded {
  runtime: Runtime;
  warnings: ConfigWarning[];
  directives: Directive[];
}

/**
 * config text → AST → registry walk → merge → postconfiguration → Runtime.
 * Throws ConfigError; nothing is started here.
 */
export function loadConfig(file: string, opts: LoadOptions): Loaded {
  const b = new Builder(opts.prefix, file);
  for (const factory of MODULES) b.addModule(factory(b));
  defineCoreVariables(b.variables);
  for (const m of b.modules) m.preconfiguration?.(b);

  const parseOpts = { baseDir: path.dirname(file) };
  const directives = opts.text !== undefined ? parseText(opts.text, file, parseOpts) : parseFile(file, parseOpts);
  if (opts.globalDirectives) directives.push(...parseText(opts.globalDirectives, COMMAND_LINE, parseOpts));
  b.registry.walk(directives, b.mainScope);

  mergeLocations(b);
  for (const m of b.modules) m.postconfiguration?.(b);
  b.variables.finish();
  return { runtime: new Runtime(b), warnings: b.warnings, directives };
}

/** nginx's merge pass: http → server → location → nested location, per module. */
function mergeLocations(b: Builder): void {
  for (const m of b.modules) {
    const merge = m.merge;
    if (merge === undefined) continue;
    const httpConf = merge(undefined, b.httpScope?.confs.get(m.name));
    const walk = (loc: LocationConf, parent: unknown): void => {
      const eff = merge(parent, loc.scope.confs.get(m.name));
      loc.conf[m.name] = eff;
      for (const c of loc.children) walk(c, eff);
    };
    for (const s of b.servers) {
      const rootConf = merge(httpConf, s.scope.confs.get(m.name));
      s.root.conf[m.name] = rootConf;
      for (const l of s.locations) walk(l, rootConf);
      for (const l of s.named.values()) walk(l, rootConf);
    }
  }
}
