import * as v8 from 'node:v8';
import { toBytes } from './bytes';
import { ConfigError } from './errors';

let engineBounded = false;
const unbounded: string[] = [];

/**
 * A backtracking regex like `^/redos/(a+)+$` takes seconds of CPU on a
 * hostile URI and freezes the worker. V8 can re-run a match on its
 * linear-time engine once it has backtracked too often (50,000 times by
 * default, a few milliseconds): the result is the same match, found in
 * time linear in the subject. The second flag lets `compileRegex` ask
 * V8 whether a pattern can run there at all (the `l` flag).
 */
function boundRegexEngine(): void {
  if (engineBounded) return;
  v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  v8.setFlagsFromString('--enable-experimental-regexp-engine');
  engineBounded = true;
}

/** Backreferences and lookaround have no linear-time form: V8 keeps such a regex on the backtracking engine. */
function runsInLinearTime(source: string, flags: string): boolean {
  try {
    new RegExp(source, `${flags}l`);
    return true;
  } catch {
    return false;
  }
}

/** How many characters the escape at `source[i]` (a backslash) spans: its letters are not literals. */
function escapeLength(source: string, i: number): number {
  const next = source[i + 1];
  if (next === 'c') return 3;
  if (next === 'x') return 4;
  if (next === 'u' && source[i + 2] !== '{') return 6;
  if ('upPk'.includes(next)) {
    const close = source.indexOf(next === 'k' ? '>' : '}', i);
    return close < 0 ? 2 : close - i + 1;
  }
  return 2;
}

/** Both cases of an ASCII letter, or undefined for any other character. */
function bothCases(c: string): string | undefined {
  const lower = c.toLowerCase();
  const upper = c.toUpperCase();
  return lower !== upper && /^[a-z]$/.test(lower) ? lower + upper : undefined;
}

/**
 * The caseless pattern spelt out without the `i` flag (`a` → `[aA]`,
 * `[a-f]` → `[a-fA-F]`): V8 20's linear engine refuses `i`. ASCII only,
 * as PCRE folds without UTF mode.
 */
export function foldCase(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; ) {
    const c = source[i];
    if (c === '\\') {
      const n = escapeLength(source, i);
      out += source.slice(i, i + n);
      i += n;
    } else if (c === '(' && source.startsWith('(?<', i) && !'=!'.includes(source[i + 3])) {
      const close = source.indexOf('>', i);
      out += source.slice(i, close + 1); // a group name, not literals
      i = close + 1;
    } else if (inClass && bothCases(c) && source[i + 1] === '-' && bothCases(source[i + 2] ?? '')) {
      const range = source.slice(i, i + 3);
      out += range.toLowerCase() + range.toUpperCase();
      i += 3;
    } else {
      const cases = bothCases(c);
      if (c === '[' && !inClass) inClass = true;
      else if (c === ']' && inClass) inClass = false;
      out += cases === undefined ? c : inClass ? cases : `[${cases}]`;
      i++;
    }
  }
  return out;
}

function construct(js: string, flags: string, source: string): RegExp {
  try {
    return new RegExp(js, flags);
  } catch (e) {
    throw new ConfigError(`pcre2_compile() failed: ${(e as Error).message} in "${source}"`);
  }
}

/** nginx regexes are PCRE; `(?P<name>` becomes JS's `(?<name>`. */
export function compileRegex(source: string, caseless: boolean): RegExp {
  boundRegexEngine();
  const js = toBytes(source).replace(/\(\?P</g, '(?<');
  const checked = construct(js, caseless ? 'i' : '', source); // errors name the pattern as written
  const bounded = caseless ? foldCase(js) : js;
  if (!runsInLinearTime(bounded, '')) {
    unbounded.push(source);
    return checked;
  }
  return caseless ? new RegExp(bounded) : checked;
}

/** The sources compiled since the last call that have no time bound; the registry turns them into warnings. */
export function takeUnboundedRegexes(): string[] {
  return unbounded.splice(0);
}
