import { ConfigError } from '../../src/config/errors';
import { loadConfig } from '../../src/process/load';

/** The config file name the error tests load their text as. */
export const FILE = '/etc/mp/t.conf';

/** Loads `http { BODY }` (the body from line 2) and returns the [emerg] line it fails with, or `ok`. */
export function errorOf(http: string): string {
  try {
    loadConfig(FILE, { prefix: '/tmp', text: `http {\n${http}\n}\n` });
  } catch (e) {
    if (e instanceof ConfigError) return e.render();
    throw e;
  }
  return 'ok';
}

/** The one line nginx prints for a config error at `line` of FILE. */
export const emerg = (what: string, line: number) => `metricproxy: [emerg] ${what} in ${FILE}:${line}`;
