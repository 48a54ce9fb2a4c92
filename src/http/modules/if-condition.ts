import * as fs from 'node:fs';
import { ConfigError } from '../../config/errors';
import type { Directive } from '../../config/parser';
import type { HttpContext } from '../context';
import { compileRegex } from '../../config/regex';
import { ComplexValue, VariableRegistry } from '../variables';

/** A compiled `if (...)` condition. */
export type Condition = (r: HttpContext) => boolean;

/**
 * nginx's ngx_http_rewrite_if_condition: `($v)`, `($v = text)`, `($v != text)`,
 * `($v ~ re)`, `~*`, `!~`, `!~*`, `(-f path)`, `!-f`, `-d`, `-e`, `-x`.
 * The parentheses may stand alone or stick to the first and last words.
 */
export function compileCondition(d: Directive, vars: VariableRegistry): Condition {
  const words = [...d.args];
  if (!words[0].startsWith('(')) throw new ConfigError(`invalid condition "${words[0]}"`);
  if (words[0] === '(') words.shift();
  else words[0] = words[0].slice(1);
  const last = words.length - 1;
  if (last < 0 || !words[last].endsWith(')')) throw new ConfigError(`invalid condition "${words[last] ?? d.args[0]}"`);
  if (words[last] === ')') words.pop();
  else words[last] = words[last].slice(0, -1);
  if (words.length === 0) throw new ConfigError(`invalid condition "${d.args[0]}"`);
  const first = words[0];
  const compile = (text: string) => ComplexValue.compile(text, vars, d.file, d.line);
  if (first.length > 1 && first.startsWith('$')) {
    if (words.length !== 1 && words.length !== 3) throw new ConfigError(`invalid condition "${first}"`);
    const subject = compile(first);
    if (words.length === 1) return (r) => isTrue(subject.eval(r));
    return comparison(subject, words[1], words[2], compile);
  }
  if (/^!?-.$/.test(first)) {
    if (words.length !== 2 || !'fdex'.includes(first[first.length - 1])) throw new ConfigError(`invalid condition "${first}"`);
    return fileTest(first, compile(words[1]));
  }
  throw new ConfigError(`invalid condition "${first}"`);
}

/** A bare variable is false when empty or "0". */
function isTrue(v: string): boolean {
  return v !== '' && v !== '0';
}

function comparison(subject: ComplexValue, op: string, operand: string, compile: (t: string) => ComplexValue): Condition {
  if (op === '=' || op === '!=') {
    const want = compile(operand);
    const equal = op === '=';
    return (r) => (subject.eval(r) === want.eval(r)) === equal;
  }
  const m = /^(!?)~(\*?)$/.exec(op);
  if (m === null) throw new ConfigError(`unexpected "${op}" in condition`);
  const re = compileRegex(operand, m[2] === '*');
  const negated = m[1] === '!';
  return (r) => {
    const found = re.exec(subject.eval(r));
    if (found !== null) {
      r.captures = Array.from(found, (s) => s ?? '');
      r.namedCaptures = found.groups ? { ...found.groups } : null;
    }
    return (found !== null) !== negated;
  };
}

/** `-f` file, `-d` directory, `-e` either (or anything else that exists), `-x` executable by its owner (nginx's ngx_is_exec); symlinks followed. */
function fileTest(op: string, path: ComplexValue): Condition {
  const negated = op.startsWith('!');
  const kind = op[op.length - 1];
  return (r) => {
    let ok: boolean;
    try {
      const st = fs.statSync(Buffer.from(path.eval(r), 'latin1'));
      if (kind === 'f') ok = st.isFile();
      else if (kind === 'd') ok = st.isDirectory();
      else if (kind === 'x') ok = (st.mode & 0o100) !== 0;
      else ok = true;
    } catch {
      ok = false;
    }
    return ok !== negated;
  };
}
