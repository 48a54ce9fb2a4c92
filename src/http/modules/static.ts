import { ConfigError } from '../../config/errors';
import type { Directive } from '../../config/parser';
import type { Scope } from '../../config/registry';
import type { Module } from '../module';
import type { Builder } from '../builder';
import { LocationConf, STATIC, StaticConf } from '../conf';
import type { HttpContext } from '../context';
import { DEFAULT_TYPES, parseTypes } from '../mime';
import { staticHandler } from './static-files';
import { tryFiles } from './try-files';
import { ComplexValue } from '../variables';

type StaticLevel = Partial<StaticConf>;

function levelOf(scope: Scope): StaticLevel {
  return STATIC.at(scope, () => ({}));
}

function setRoot(d: Directive, scope: Scope, b: Builder): void {
  const level = levelOf(scope);
  const other = d.name === 'root' ? 'alias' : 'root';
  if (level.root !== undefined || level.alias !== undefined) {
    const earlier = level[other] !== undefined ? other : d.name;
    throw new ConfigError(`"${d.name}" directive is duplicate${earlier === other ? `, "${other}" directive was specified earlier` : ''}`);
  }
  const path = ComplexValue.compile(d.args[0], b.variables, d.file, d.line);
  if (d.name === 'root') {
    level.root = path;
    return;
  }
  const loc = scope.owner;
  if (!(loc instanceof LocationConf)) throw new ConfigError('"alias" directive is not allowed here');
  if (loc.modifier === '@') throw new ConfigError(`"alias" directive cannot be used inside the named location`);
  level.alias = { path, strip: loc.regex !== undefined ? 'all' : loc.name.length };
}

function compileList(d: Directive, b: Builder): ComplexValue[] {
  return d.args.map((a) => ComplexValue.compile(a, b.variables, d.file, d.line));
}

/** nginx's merge: root/alias, index, types and default_type inherit; try_files does not. */
function merge(parent: unknown, child: unknown, b: Builder): StaticConf {
  const p = parent as StaticConf | undefined;
  const c = (child as StaticLevel | undefined) ?? {};
  const inheritPath = c.root === undefined && c.alias === undefined;
  return {
    root: c.root ?? (inheritPath ? p?.root : undefined) ?? ComplexValue.compile('html', b.variables, b.confFile, 0),
    alias: inheritPath ? p?.alias : c.alias,
    index: c.index ?? p?.index ?? [ComplexValue.compile('index.html', b.variables, b.confFile, 0)],
    tryFiles: c.tryFiles,
    types: c.types ?? p?.types ?? DEFAULT_TYPES,
    defaultType: c.defaultType ?? p?.defaultType ?? 'text/plain',
  };
}

/**
 * Static files, nginx's static, index and try_files modules: `root`,
 * `alias`, `index`, `try_files`, `types`, `default_type`. A location with
 * no other content handler serves files from its root, as in nginx.
 */
export function staticModule(b: Builder): Module {
  const levels = ['http', 'server', 'location'] as const;
  return {
    name: 'static',
    directives: [
      { name: 'root', contexts: levels, args: '1', set: (d, scope) => setRoot(d, scope, b) },
      { name: 'alias', contexts: ['location'], args: '1', set: (d, scope) => setRoot(d, scope, b) },
      { name: 'index', contexts: levels, args: '1+', set: (d, scope) => void (levelOf(scope).index = [...(levelOf(scope).index ?? []), ...compileList(d, b)]) },
      {
        name: 'try_files', contexts: ['server', 'location'], args: '2+', unique: true,
        set: (d, scope) => void (levelOf(scope).tryFiles = compileList(d, b)),
      },
      { name: 'types', contexts: levels, args: '0', block: 'raw', set: (d, scope) => void (levelOf(scope).types = parseTypes(d.block ?? [])) },
      { name: 'default_type', contexts: levels, args: '1', unique: true, set: (d, scope) => void (levelOf(scope).defaultType = d.args[0]) },
    ],
    merge: (parent, child) => merge(parent, child, b),
    postconfiguration(bb) {
      bb.phases.precontent.push(tryFiles);
      for (const loc of bb.allLocations()) if (loc.content === undefined && loc.modifier !== 'if') loc.content = staticHandler;
    },
  };
}

export function staticConf(r: HttpContext): StaticConf {
  return STATIC.get(r.loc.conf);
}
