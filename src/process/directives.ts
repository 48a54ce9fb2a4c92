import { ConfigError } from '../config/errors';
import { Scope } from '../config/registry';
import { parseCount, parseFlag, parseTime } from '../config/values';
import type { Builder } from '../http/builder';
import type { Module } from '../http/module';

const LOG_LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'];

/** Main and events contexts: processes, pid file, error log. */
export function mainModule(b: Builder): Module {
  return {
    name: 'main',
    directives: [
      {
        name: 'worker_processes', contexts: ['main'], args: '1', unique: true,
        set: (d) => {
          const v = d.args[0] === 'auto' ? require('node:os').availableParallelism() : parseCount(d.args[0]);
          if (v === undefined || v < 1) throw new ConfigError(`invalid value "${d.args[0]}" in "worker_processes" directive`);
          b.main.workerProcesses = v;
        },
      },
      { name: 'pid', contexts: ['main'], args: '1', unique: true, set: (d) => void (b.main.pid = d.args[0]) },
      {
        name: 'error_log', contexts: ['main', 'http', 'server', 'location'], args: '1..2',
        set: (d, scope) => {
          if (d.args[1] !== undefined && !LOG_LEVELS.includes(d.args[1])) throw new ConfigError(`invalid log level "${d.args[1]}"`);
          if (scope.context !== 'main') return;
          b.main.errorLog = d.args[0];
          b.main.errorLogAt = { file: d.file, line: d.line };
          if (d.args[1] !== undefined) b.main.errorLogLevel = d.args[1];
        },
      },
      {
        name: 'daemon', contexts: ['main'], args: '1', unique: true,
        set: (d) => {
          const v = parseFlag(d.args[0]);
          if (v === undefined) throw new ConfigError(`invalid value "${d.args[0]}" in "daemon" directive, it must be "on" or "off"`);
          b.main.daemon = v;
        },
      },
      {
        // Unset, a graceful stop waits for every open connection, WebSocket tunnels included, as nginx does.
        name: 'worker_shutdown_timeout', contexts: ['main'], args: '1', unique: true,
        set: (d) => {
          const v = parseTime(d.args[0]);
          if (v === undefined) throw new ConfigError(`"${d.name}" directive invalid value`);
          b.main.workerShutdownTimeoutMs = v;
        },
      },
      { name: 'events', contexts: ['main'], args: '0', block: 'walk', unique: true, set: (_d, scope) => new Scope('events', scope) },
      {
        name: 'worker_connections', contexts: ['events'], args: '1', unique: true,
        set: (d) => {
          const v = parseCount(d.args[0]);
          if (v === undefined) throw new ConfigError(`invalid number "${d.args[0]}"`);
          b.main.workerConnections = v;
        },
      },
    ],
  };
}
