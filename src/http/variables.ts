import { toBytes } from '../config/bytes';
import { ConfigError } from '../config/errors';
import type { HttpContext } from './context';

/** Returns the value, or undefined when nginx would say "not found" (empty in text, `-` in logs). */
export type Getter = (r: HttpContext) => string | undefined;
export type Setter = (r: HttpContext, value: string) => void;

export interface VariableDef {
  name: string;
  get: Getter;
  set?: Setter;
}

type PrefixFactory = (suffix: string) => Getter;

/** `name → getter`, prefix families (`http_`, `arg_`, ...) and user variables declared by `set`. */
export class VariableRegistry {
  private readonly defs = new Map<string, VariableDef>();
  private readonly prefixes: Array<[string, PrefixFactory]> = [];
  private readonly pending: Array<{ name: string; file: string; line: number; bind: (d: VariableDef) => void }> = [];

  define(name: string, get: Getter, set?: Setter): VariableDef {
    const def: VariableDef = { name, get, set };
    this.defs.set(name, def);
    return def;
  }

  /** Declares a user variable (`set $x ...`) once; later `set`s reuse it. */
  declareUser(name: string): VariableDef {
    const existing = this.defs.get(name);
    if (existing !== undefined) {
      if (existing.set === undefined) throw new ConfigError(`the "${name}" variable cannot be changed`);
      return existing;
    }
    return this.define(
      name,
      (r) => r.userVars.get(name),
      (r, v) => void r.userVars.set(name, v),
    );
  }

  prefix(prefix: string, factory: PrefixFactory): void {
    this.prefixes.push([prefix, factory]);
  }

  lookup(name: string): VariableDef | undefined {
    const def = this.defs.get(name);
    if (def !== undefined) return def;
    for (const [p, factory] of this.prefixes) {
      if (name.startsWith(p) && name.length > p.length) return this.define(name, factory(name.slice(p.length)));
    }
    if (/^[1-9]$/.test(name)) {
      const n = Number(name);
      return this.define(name, (r) => r.captures?.[n]);
    }
    return undefined;
  }

  /** Binds now if known, else after the whole config is read (nginx resolves variables at the end). */
  require(name: string, file: string, line: number, bind: (d: VariableDef) => void): void {
    const def = this.lookup(name);
    if (def !== undefined) bind(def);
    else this.pending.push({ name, file, line, bind });
  }

  /** Resolves references to variables defined after their use; unknown ones are config errors. */
  finish(): void {
    for (const p of this.pending) {
      const def = this.lookup(p.name);
      if (def === undefined) throw new ConfigError(`unknown "${p.name}" variable`, p.file, p.line);
      p.bind(def);
    }
    this.pending.length = 0;
  }
}

type Part = string | VariableDef;

/** Named groups `(?<name>...)` become variables, as nginx's named captures do. */
export function defineNamedCaptures(re: RegExp, variables: VariableRegistry): void {
  for (const m of re.source.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)) {
    const g = m[1];
    variables.define(g, (r) => r.namedCaptures?.[g]);
  }
}

/**
 * Text with variables, compiled once at load into literal and getter parts
 * so that a request only runs a tight loop.
 */
export class ComplexValue {
  private constructor(
    private readonly parts: Part[],
    readonly source: string,
  ) {}

  get isLiteral(): boolean {
    return this.parts.every((p) => typeof p === 'string');
  }

  get literal(): string {
    return this.parts.join('');
  }

  static compile(text: string, vars: VariableRegistry, file: string, line: number): ComplexValue {
    const parts: Part[] = [];
    let literal = '';
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      if (c !== '$') {
        literal += c;
        i++;
        continue;
      }
      let name: string;
      if (text[i + 1] === '{') {
        const close = text.indexOf('}', i + 2);
        if (close < 0) throw new ConfigError('the closing bracket in variable is missing', file, line);
        name = text.slice(i + 2, close);
        i = close + 1;
      } else if (/[1-9]/.test(text[i + 1] ?? '')) {
        name = text[i + 1];
        i += 2;
      } else {
        const m = /^[A-Za-z0-9_]+/.exec(text.slice(i + 1));
        if (m === null) throw new ConfigError(`invalid variable name in "${text}"`, file, line);
        name = m[0];
        i += 1 + name.length;
      }
      if (name === '') throw new ConfigError(`invalid variable name in "${text}"`, file, line);
      if (literal) parts.push(toBytes(literal));
      literal = '';
      const slot = parts.length;
      parts.push('');
      vars.require(name, file, line, (def) => {
        parts[slot] = def;
      });
    }
    if (literal) parts.push(toBytes(literal));
    return new ComplexValue(parts, text);
  }

  /** Evaluates with each variable passed through `escape`; empty or missing ones print `missing` (access logs). */
  evalEscaped(r: HttpContext, escape: (s: string) => string, missing: string): string {
    let out = '';
    for (const p of this.parts) {
      if (typeof p === 'string') out += p;
      else {
        const v = p.get(r);
        out += v === undefined || v === '' ? missing : escape(v);
      }
    }
    return out;
  }

  eval(r: HttpContext): string {
    const parts = this.parts;
    if (parts.length === 1) {
      const p = parts[0];
      return typeof p === 'string' ? p : (p.get(r) ?? '');
    }
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      out += typeof p === 'string' ? p : (p.get(r) ?? '');
    }
    return out;
  }
}
