import { ConfigError } from './errors';

export type TokenKind = 'word' | '{' | '}' | ';';

export interface Token {
  kind: TokenKind;
  /** Unescaped text of a word; the punctuation itself otherwise. */
  value: string;
  quoted: boolean;
  line: number;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', "'": "'", '\\': '\\' };

/** `{name}` right after a `$`, within one word. */
const VARIABLE_REF = /\{[^\s;{}]*\}/y;

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/**
 * nginx's tokenizer: bare words end at whitespace, `;`, `{`, `}` (a `{` right
 * after `$` belongs to a `${var}` reference); quoted strings may span lines.
 */
export function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;

  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '{' || c === '}' || c === ';') {
      tokens.push({ kind: c, value: c, quoted: false, line });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const start = line;
      let value = '';
      i++;
      for (;;) {
        if (i >= n) throw new ConfigError('unexpected end of file, expecting ";" or "}"', file, start);
        const ch = text[i];
        if (ch === '\\' && i + 1 < n && ESCAPES[text[i + 1]] !== undefined) {
          value += ESCAPES[text[i + 1]];
          i += 2;
          continue;
        }
        if (ch === c) {
          i++;
          break;
        }
        if (ch === '\n') line++;
        value += ch;
        i++;
      }
      const next = text[i];
      // As nginx: `)` may follow a quoted word at once (`if ($a ~ "x")`); it starts the next word.
      if (next !== undefined && !isSpace(next) && next !== ';' && next !== '{' && next !== '}' && next !== ')') {
        throw new ConfigError(`unexpected "${next}"`, file, line);
      }
      tokens.push({ kind: 'word', value, quoted: true, line: start });
      continue;
    }
    let value = '';
    while (i < n) {
      const ch = text[i];
      if (isSpace(ch) || ch === ';' || ch === '}') break;
      if (ch === '{') {
        if (value.endsWith('$')) {
          // `${name}`: the braces stay in the word. A `${` not closed within the word
          // keeps its `{` and the word ends as usual (the variable parser reports it).
          VARIABLE_REF.lastIndex = i;
          const ref = VARIABLE_REF.exec(text);
          const taken = ref === null ? '{' : ref[0];
          value += taken;
          i += taken.length;
          continue;
        }
        break;
      }
      if (ch === '\\' && i + 1 < n && !isSpace(text[i + 1])) {
        value += text[i + 1] === '"' || text[i + 1] === "'" ? text[i + 1] : ch + text[i + 1];
        i += 2;
        continue;
      }
      value += ch;
      i++;
    }
    tokens.push({ kind: 'word', value, quoted: false, line });
  }
  return tokens;
}
