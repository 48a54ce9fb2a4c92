import { ConfigError } from '../../config/errors';
import { ConfSlot } from '../../config/registry';
import type { Module } from '../module';
import { accessLogFiles, LogFile } from '../access-log-file';
import type { Builder } from '../builder';
import type { HttpContext } from '../context';
import { ComplexValue } from '../variables';

type Escape = 'default' | 'json' | 'none';

interface LogFormat {
  text: ComplexValue;
  escape: Escape;
}

interface AccessLog {
  file: LogFile;
  format: LogFormat;
}
/** access_log's slot: a level's logs, or `off`. */
const LOGS = new ConfSlot<AccessLog[] | 'off'>('log');

const COMBINED =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

function escapeDefault(s: string): string {
  return s.replace(/["\\\x00-\x1f\x7f-\xff]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

function escapeJson(s: string): string {
  return s.replace(/["\\\x00-\x1f]/g, (c) => (c === '"' || c === '\\' ? '\\' + c : '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')));
}

const ESCAPERS: Record<Escape, (s: string) => string> = { default: escapeDefault, json: escapeJson, none: (s) => s };

function compileFormat(text: string, escape: Escape, b: Builder, file: string, line: number): LogFormat {
  return { text: ComplexValue.compile(text, b.variables, file, line), escape };
}

function render(fmt: LogFormat, r: HttpContext): string {
  return fmt.text.evalEscaped(r, ESCAPERS[fmt.escape], fmt.escape === 'json' ? '' : '-') + '\n';
}

interface LogState {
  formats: Map<string, LogFormat>;
}

/** `log_format` and `access_log`, written in the log phase for every request. */
export function logModule(b: Builder): Module {
  const state = b.moduleState<LogState>('log', () => ({ formats: new Map() }));
  const fileFor = (d: { args: string[]; file: string; line: number }) => {
    const abs = b.resolvePath(d.args[0]);
    let f = accessLogFiles(b).get(abs);
    if (f === undefined) accessLogFiles(b).set(abs, (f = new LogFile(abs, { file: d.file, line: d.line })));
    return f;
  };
  return {
    name: 'log',
    directives: [
      {
        name: 'log_format', contexts: ['http'], args: '2+',
        set: (d) => {
          const name = d.args[0];
          if (state.formats.has(name)) throw new ConfigError(`duplicate "log_format" name "${name}"`);
          let rest = d.args.slice(1);
          let escape: Escape = 'default';
          const m = /^escape=(default|json|none)$/.exec(rest[0]);
          if (m) {
            escape = m[1] as Escape;
            rest = rest.slice(1);
          } else if (rest[0].startsWith('escape=')) throw new ConfigError(`unknown log format escaping "${rest[0].slice(7)}"`);
          if (rest.length === 0) throw new ConfigError('invalid number of arguments in "log_format" directive');
          state.formats.set(name, compileFormat(rest.join(''), escape, b, d.file, d.line));
        },
      },
      {
        name: 'access_log', contexts: ['http', 'server', 'location'], args: '1+',
        set: (d, scope) => {
          const list = LOGS.at(scope, () => []);
          if (d.args[0] === 'off') {
            if (d.args.length > 1) throw new ConfigError(`invalid parameter "${d.args[1]}"`);
            LOGS.set(scope, 'off');
            return;
          }
          if (list === 'off') throw new ConfigError('"access_log off" is mixed with other access_log directives');
          const fmtName = d.args[1] ?? 'combined';
          if (fmtName !== 'combined' && !state.formats.has(fmtName)) throw new ConfigError(`unknown log format "${fmtName}"`);
          const format = state.formats.get(fmtName) ?? compileFormat(COMBINED, 'default', b, d.file, d.line);
          list.push({ file: fileFor(d), format });
        },
      },
    ],
    merge: (parent, child) => child ?? parent,
    postconfiguration(bb) {
      bb.phases.log.push((r) => {
        const logs = LOGS.of(r.loc?.conf);
        if (logs === undefined || logs === 'off') return;
        for (const l of logs) l.file.write(render(l.format, r));
      });
    },
  };
}
