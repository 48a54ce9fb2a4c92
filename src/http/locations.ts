import type { HttpContext } from './context';
import type { LocationConf } from './conf';

/**
 * nginx's location search over one level (server or enclosing location):
 * exact `=` wins at once; otherwise the longest matching prefix is taken
 * and its nested locations are searched; unless that prefix is `^~`, the
 * regexes are then tried in file order, nested ones of the deepest prefix
 * before outer ones. Returns the chosen location, or undefined.
 */
export function findLocation(r: HttpContext, level: readonly LocationConf[], uri: string): LocationConf | undefined {
  return search(r, level, uri).loc;
}

interface Found {
  loc: LocationConf | undefined;
  /** true when the search must stop (exact, ^~, or a regex matched). */
  final: boolean;
}

function search(r: HttpContext, level: readonly LocationConf[], uri: string): Found {
  let best: LocationConf | undefined;
  for (const loc of level) {
    const m = loc.modifier;
    if (m === '=') {
      if (loc.name === uri) return { loc, final: true };
      continue;
    }
    if (m === '' || m === '^~') {
      if (uri.startsWith(loc.name) && (best === undefined || loc.name.length > best.name.length)) best = loc;
    }
  }
  let found: Found = { loc: best, final: false };
  if (best !== undefined) {
    if (best.children.length > 0) {
      const nested = search(r, best.children, uri);
      if (nested.final) return nested;
      if (nested.loc !== undefined) found = { loc: nested.loc, final: false };
    }
    if (best.modifier === '^~') return { loc: found.loc, final: true };
  }
  for (const loc of level) {
    if (loc.regex === undefined) continue;
    const match = loc.regex.exec(uri);
    if (match === null) continue;
    r.captures = Array.from(match, (s) => s ?? '');
    r.namedCaptures = match.groups ? { ...match.groups } : null;
    if (loc.children.length > 0) {
      const nested = search(r, loc.children, uri);
      if (nested.loc !== undefined) return { loc: nested.loc, final: true };
    }
    return { loc, final: true };
  }
  return found;
}

/** nginx's check that a nested prefix location lies inside its parent. */
export function nestedPrefixOk(parent: LocationConf, childName: string): boolean {
  return parent.regex !== undefined || childName.startsWith(parent.name);
}
