#!/usr/bin/env node
import cluster from 'node:cluster';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { ConfigError, renderWarning } from './config/errors';
import { loadConfig } from './process/load';
import { openLogFiles } from './process/log-files';
import { Master } from './process/master';
import { WORKER_ENV_KEY, WorkerEnv } from './process/messages';
import { runWorker } from './process/worker';

const VERSION: string = require('../package.json').version;
const SIGNALS: Record<string, NodeJS.Signals> = { reload: 'SIGHUP', stop: 'SIGTERM', quit: 'SIGQUIT', reopen: 'SIGUSR1' };

interface CliOptions {
  conf?: string;
  prefix?: string;
  global?: string;
  test?: boolean;
  testDump?: boolean;
  signal?: string;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function dumpFiles(confFile: string, directives: Array<{ file: string }>): void {
  const files = [...new Set([confFile, ...directives.map((d) => d.file)])];
  for (const f of files) {
    process.stdout.write(`# configuration file ${f}:\n${fs.readFileSync(f, 'utf8')}\n`);
  }
}

function signalMaster(confFile: string, prefix: string, globals: string, name: string): void {
  const sig = SIGNALS[name];
  if (sig === undefined) fail(`metricproxy: invalid option: "-s ${name}"`);
  const rt = loadConfig(confFile, { prefix, globalDirectives: globals }).runtime;
  const pidFile = rt.resolve(rt.main.pid);
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    fail(`metricproxy: [error] open() "${pidFile}" failed (No such file or directory)`);
  }
  try {
    process.kill(pid, sig);
  } catch (e) {
    fail(`metricproxy: [alert] kill(${pid}, ${sig}) failed (${(e as Error).message})`);
  }
}

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('metricproxy')
    .description('A reverse proxy with Angie-compatible metric zones, configured in nginx syntax')
    .option('-c, --conf <file>', 'configuration file (default: conf/proxy.conf under the prefix)')
    .option('-p, --prefix <dir>', 'prefix path for relative paths (default: the installation directory)')
    .option('-g, --global <directives>', 'global directives applied after the configuration file')
    .option('-t, --test', 'test the configuration and exit')
    .option('-T, --test-dump', 'test the configuration, dump it and exit')
    .option('-s, --signal <signal>', 'send a signal to the master process: reload, stop, quit, reopen')
    .version(`metricproxy version: metricproxy/${VERSION}`, '-V, --version', 'show version and exit')
    .helpOption('-h, --help', 'show this help')
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 1))
    .parse(argv);
  const o = program.opts<CliOptions>();
  const prefix = path.resolve(o.prefix ?? path.join(__dirname, '..'));
  const confFile = path.resolve(prefix, o.conf ?? 'conf/proxy.conf');
  const globals = o.global ?? '';

  try {
    if (o.signal !== undefined) return signalMaster(confFile, prefix, globals, o.signal);
    if (o.test || o.testDump) {
      const loaded = loadConfig(confFile, { prefix, globalDirectives: globals });
      for (const w of loaded.warnings) process.stderr.write(`${renderWarning(w)}\n`);
      openLogFiles(loaded.runtime);
      process.stderr.write(`metricproxy: the configuration file ${confFile} syntax is ok\n`);
      process.stderr.write(`metricproxy: configuration file ${confFile} test is successful\n`);
      if (o.testDump) dumpFiles(confFile, loaded.directives);
      return;
    }
    await new Master({ confFile, prefix, globalDirectives: globals }).start();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.render()}\n`);
      if (o.test || o.testDump) process.stderr.write(`metricproxy: configuration file ${confFile} test failed\n`);
      process.exit(1);
    }
    fail(`metricproxy: [emerg] ${(e as Error).message}`);
  }
}

if (cluster.isWorker) {
  const env = JSON.parse(process.env[WORKER_ENV_KEY] ?? '{}') as WorkerEnv;
  runWorker(env).catch((e) => {
    process.stderr.write(`metricproxy: [emerg] ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
} else {
  void main(process.argv);
}
