import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from './errors';
import { expandGlob } from './glob';
import { Token, tokenize } from './lexer';

/** One directive as written: name, unescaped arguments, where, and its block if any. */
export interface Directive {
  name: string;
  args: string[];
  /** Whether each argument was quoted (nginx treats `"on"` and `on` alike, but some checks care). */
  quoted: boolean[];
  file: string;
  line: number;
  block?: Directive[];
}

export interface ParseOptions {
  /** Directory that relative `include` paths resolve against (nginx: the prefix/conf dir). */
  baseDir: string;
  /** Reads a file; tests may hand in inline text. */
  readFile?: (file: string) => string;
}

const MAX_INCLUDE_DEPTH = 32;

export function parseFile(file: string, opts: ParseOptions): Directive[] {
  return new Parser(opts).parseFile(file, 0, undefined);
}

export function parseText(text: string, file: string, opts: ParseOptions): Directive[] {
  return new Parser(opts).parseTokens(tokenize(text, file), file, 0);
}

class Parser {
  private readonly read: (file: string) => string;

  constructor(private readonly opts: ParseOptions) {
    this.read = opts.readFile ?? ((f) => fs.readFileSync(f, 'utf8'));
  }

  parseFile(file: string, depth: number, from: { file: string; line: number } | undefined): Directive[] {
    let text: string;
    try {
      text = this.read(file);
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : String((e as Error).message);
      throw new ConfigError(`open() "${file}" failed (${reason})`, from?.file, from?.line);
    }
    return this.parseTokens(tokenize(text, file), file, depth);
  }

  parseTokens(tokens: Token[], file: string, depth: number): Directive[] {
    const state = { pos: 0 };
    const out = this.parseBlock(tokens, state, file, depth, false);
    return out;
  }

  private parseBlock(tokens: Token[], state: { pos: number }, file: string, depth: number, inBlock: boolean): Directive[] {
    const out: Directive[] = [];
    for (;;) {
      const tok = tokens[state.pos];
      if (tok === undefined) {
        if (inBlock) {
          const last = tokens[tokens.length - 1];
          throw new ConfigError('unexpected end of file, expecting "}"', file, last ? last.line : 1);
        }
        return out;
      }
      if (tok.kind === '}') {
        if (!inBlock) throw new ConfigError('unexpected "}"', file, tok.line);
        state.pos++;
        return out;
      }
      if (tok.kind !== 'word') throw new ConfigError(`unexpected "${tok.value}"`, file, tok.line);
      const d: Directive = { name: tok.value, args: [], quoted: [], file, line: tok.line };
      state.pos++;
      for (;;) {
        const t = tokens[state.pos];
        if (t === undefined) throw new ConfigError('unexpected end of file, expecting ";" or "}"', file, tokens[tokens.length - 1].line);
        state.pos++;
        if (t.kind === 'word') {
          d.args.push(t.value);
          d.quoted.push(t.quoted);
          continue;
        }
        if (t.kind === ';') break;
        if (t.kind === '{') {
          d.block = this.parseBlock(tokens, state, file, depth, true);
          break;
        }
        throw new ConfigError('unexpected "}"', file, t.line);
      }
      if (d.name === 'include' && d.block === undefined) {
        out.push(...this.include(d, depth));
        continue;
      }
      out.push(d);
    }
  }

  private include(d: Directive, depth: number): Directive[] {
    if (d.args.length !== 1) throw new ConfigError('invalid number of arguments in "include" directive', d.file, d.line);
    if (depth >= MAX_INCLUDE_DEPTH) throw new ConfigError('too deep include nesting', d.file, d.line);
    const pattern = path.resolve(this.opts.baseDir, d.args[0]);
    const files = expandGlob(pattern);
    const out: Directive[] = [];
    for (const f of files) out.push(...this.parseFile(f, depth + 1, d));
    return out;
  }
}
