/**
 * The literal text every match of an anchored regex must start with
 * (`^/http/metric_zones/z/metrics/([^/]+)/n$` → `/http/metric_zones/z/metrics/`),
 * used to skip branches of the status tree a template entry cannot match.
 * Conservative: returns '' (walk everything) whenever it is unsure.
 */
export function regexLiteralPrefix(source: string): string {
  if (!source.startsWith('^') || hasTopLevelAlternation(source)) return '';
  let prefix = '';
  let i = 1;
  while (i < source.length) {
    const c = source[i];
    let literal: string;
    let width: number;
    if (c === '\\') {
      const next = source[i + 1];
      // `\d`, `\w`, `\b`, `\1`...: classes, assertions and references end the literal run.
      if (next === undefined || /[A-Za-z0-9]/.test(next)) break;
      literal = next;
      width = 2;
    } else if ('.[]()*+?{}|$^'.includes(c)) {
      break;
    } else {
      literal = c;
      width = 1;
    }
    // A quantified character (`a?`, `a*`, `a{0,2}`) may be absent: it is not part of the prefix.
    if ('*+?{'.includes(source[i + width] ?? '')) break;
    prefix += literal;
    i += width;
  }
  return prefix;
}

/** Whether `|` splits the whole pattern (`^/a|/b`), outside any group or character class. */
function hasTopLevelAlternation(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth--;
    } else if (c === '|' && depth === 0) {
      return true;
    }
  }
  return false;
}
