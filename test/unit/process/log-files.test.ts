import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors';
import { loadConfig } from '../../../src/process/load';
import { openLogFiles } from '../../../src/process/log-files';

function load(text: string): { prefix: string; open: () => void } {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-logs-'));
  const rt = loadConfig(path.join(prefix, 'test.conf'), { prefix, text }).runtime;
  return { prefix, open: () => openLogFiles(rt) };
}

function emerg(open: () => void): string {
  try {
    open();
    return 'ok';
  } catch (e) {
    if (e instanceof ConfigError) return e.render();
    throw e;
  }
}

describe('openLogFiles', () => {
  it('creates the error log and each access_log file (and their directories) without writing to them', () => {
    const { prefix, open } = load('error_log logs/e.log;\nhttp { access_log logs/deep/a.log; server { listen 127.0.0.1:1; access_log b.log; } }');
    open();
    for (const f of ['logs/e.log', 'logs/deep/a.log', 'b.log']) expect(fs.readFileSync(path.join(prefix, f), 'utf8')).toBe('');
  });

  it('leaves existing files as they are (appends)', () => {
    const { prefix, open } = load('http { access_log a.log; server { listen 127.0.0.1:1; } }');
    fs.writeFileSync(path.join(prefix, 'a.log'), 'kept\n');
    open();
    expect(fs.readFileSync(path.join(prefix, 'a.log'), 'utf8')).toBe('kept\n');
  });

  it('an unusable path is an [emerg] naming the directive; the default error log has no directive to name', () => {
    const blocked = load('error_log blocked/e.log;');
    fs.writeFileSync(path.join(blocked.prefix, 'blocked'), '');
    expect(emerg(blocked.open)).toBe(`metricproxy: [emerg] open() "${blocked.prefix}/blocked/e.log" failed (Not a directory) in ${blocked.prefix}/test.conf:1`);
    const byDefault = load('');
    fs.writeFileSync(path.join(byDefault.prefix, 'logs'), '');
    expect(emerg(byDefault.open)).toBe(`metricproxy: [emerg] open() "${byDefault.prefix}/logs/error.log" failed (Not a directory)`);
  });

  it('error_log stderr opens nothing', () => {
    const { prefix, open } = load('error_log stderr;');
    open();
    expect(fs.readdirSync(prefix)).toEqual([]);
  });
});
