import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';

/** Extension (lower case) → MIME type, as nginx's `types { type ext...; }`. */
export type TypesMap = ReadonlyMap<string, string>;

/** nginx's built-in `types` when a config names none (ngx_http_core_default_types). */
export const DEFAULT_TYPES: TypesMap = new Map([
  ['html', 'text/html'],
  ['gif', 'image/gif'],
  ['jpg', 'image/jpeg'],
]);

/** Reads a raw `types { ... }` block (includes already spliced in by the parser). */
export function parseTypes(block: readonly Directive[]): TypesMap {
  const types = new Map<string, string>();
  for (const e of block) {
    if (e.block !== undefined) throw new ConfigError('unexpected "{"', e.file, e.line);
    if (e.args.length === 0) throw new ConfigError('invalid number of arguments in "types" directive', e.file, e.line);
    for (const ext of e.args) types.set(ext.toLowerCase(), e.name);
  }
  return types;
}

/** The type for a path by its extension (nginx's $exten: after the last `.` of the last segment). */
export function typeFor(types: TypesMap, fallback: string, path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  if (dot <= slash) return fallback;
  return types.get(path.slice(dot + 1).toLowerCase()) ?? fallback;
}
