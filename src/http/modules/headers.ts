import { ConfigError } from '../../config/errors';
import { ConfSlot } from '../../config/registry';
import type { Module } from '../module';
import type { Builder } from '../builder';
import { ComplexValue } from '../variables';

interface AddHeader {
  name: string;
  value: ComplexValue;
  always: boolean;
}
const HEADERS = new ConfSlot<AddHeader[]>('headers');

const ADD_HEADER_CODES = new Set([200, 201, 204, 206, 301, 302, 303, 304, 307, 308]);

/** `add_header NAME VALUE [always]`, inherited as nginx: a level with none takes its parent's. */
export function headersModule(b: Builder): Module {
  return {
    name: 'headers',
    directives: [
      {
        name: 'add_header', contexts: ['http', 'server', 'location'], args: '2..3',
        set: (d, scope) => {
          if (d.args[2] !== undefined && d.args[2] !== 'always') throw new ConfigError(`invalid parameter "${d.args[2]}"`);
          const list = HEADERS.at(scope, () => []);
          list.push({ name: d.args[0].toLowerCase(), value: ComplexValue.compile(d.args[1], b.variables, d.file, d.line), always: d.args[2] === 'always' });
        },
      },
    ],
    merge: (parent, child) => child ?? parent,
    postconfiguration(bb) {
      bb.phases.header.push((r, headers) => {
        const list = HEADERS.of(r.loc?.conf);
        if (list === undefined) return;
        const ok = ADD_HEADER_CODES.has(r.status);
        for (const h of list) {
          if (!ok && !h.always) continue;
          const v = h.value.eval(r);
          if (v === '') continue;
          const prev = headers[h.name];
          headers[h.name] = prev === undefined ? v : ([] as string[]).concat(prev, v);
        }
      });
    },
  };
}
