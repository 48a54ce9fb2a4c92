import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts, makePrefix, Proxy, request, runCli, startProxy } from '../helpers/proc';
import { waitFor } from '../helpers/sys';

// Issue 12 item 4: the error log and access_log files are opened (created) at start-up, as
// nginx does, so a path that cannot be written stops the start with an [emerg].

let proxy: Proxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

const server = (port: number, extra = '') => `server { listen 127.0.0.1:${port}; ${extra} location / { return 200 "ok"; } }`;

/** A prefix whose `blocked` is a regular file, so nothing can be created under it. */
function prefixWithBlockedPath(text: (prefix: string) => string): { prefix: string; conf: string } {
  const made = makePrefix('');
  fs.writeFileSync(path.join(made.prefix, 'blocked'), 'a file, not a directory\n');
  fs.writeFileSync(made.conf, text(made.prefix));
  return made;
}

describe('a log path that cannot be written is an [emerg] at start', () => {
  it('error_log under a regular file: exit 1, one line naming the directive', async () => {
    const [port] = await freePorts(1);
    const { prefix, conf } = prefixWithBlockedPath((p) => `error_log ${p}/blocked/error.log;\nhttp { ${server(port)} }\n`);
    const run = await runCli(['-p', prefix, '-c', conf]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`metricproxy: [emerg] open() "${prefix}/blocked/error.log" failed (Not a directory) in ${conf}:1\n`);
  });

  it('access_log naming a directory: exit 1, one line naming the directive', async () => {
    const [port] = await freePorts(1);
    const { prefix, conf } = makePrefix('');
    fs.mkdirSync(path.join(prefix, 'adir'));
    fs.writeFileSync(conf, `http {\n  ${server(port)}\n  access_log ${prefix}/adir;\n}\n`);
    const run = await runCli(['-p', prefix, '-c', conf]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`metricproxy: [emerg] open() "${prefix}/adir" failed (Is a directory) in ${conf}:3\n`);
  });

  it('-t fails the same way, as nginx -t does', async () => {
    const { prefix, conf } = prefixWithBlockedPath((p) => `http { access_log ${p}/blocked/a.log; ${server(1)} }\n`);
    const run = await runCli(['-p', prefix, '-c', conf, '-t']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`metricproxy: [emerg] open() "${prefix}/blocked/a.log" failed (Not a directory) in ${conf}:1\n`);
    expect(run.stderr).toContain('test failed');
  });
});

describe('files exist once started, before any request', () => {
  it('the error log and every access_log file are created at start-up', async () => {
    const [port] = await freePorts(1);
    const { prefix } = makePrefix('');
    const text = `error_log logs/err.log;\nhttp {\n  access_log logs/all.log;\n  ${server(port, 'access_log logs/server.log;')}\n}\n`;
    proxy = await startProxy(text, [port], { prefix });
    for (const f of ['logs/err.log', 'logs/all.log', 'logs/server.log']) expect(fs.existsSync(path.join(prefix, f))).toBe(true);
  });

  it('a reload to an unwritable access_log is refused with an [emerg] in the error log; the old config keeps serving', async () => {
    const [port] = await freePorts(1);
    const { prefix } = prefixWithBlockedPath(() => '');
    proxy = await startProxy(`error_log logs/err.log;\nhttp { ${server(port)} }\n`, [port], { prefix });
    fs.writeFileSync(proxy.conf, `error_log logs/err.log;\nhttp { access_log ${prefix}/blocked/a.log; ${server(port)} }\n`);
    process.kill(proxy.child.pid!, 'SIGHUP');
    const errLog = path.join(prefix, 'logs/err.log');
    const line = await waitFor(
      () => fs.readFileSync(errLog, 'utf8').split('\n').find((l) => l.includes('[emerg]')),
      10_000,
      'the [emerg] of the refused reload',
    );
    expect(line).toContain(`open() "${prefix}/blocked/a.log" failed (Not a directory) in ${proxy.conf}:2`);
    expect((await request(`http://127.0.0.1:${port}/`)).body).toBe('ok');
  });
});
