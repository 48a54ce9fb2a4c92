import { ConfigError } from '../config/errors';
import { ErrorLog } from './log';
import type { ApiTree } from '../api/tree';
import type { StoreService } from '../store/service';
import type { Builder, MainConf } from './builder';
import type { Module } from './module';
import type { CommitQueue } from './commit';
import type { Phases, ServerConf } from './conf';
import { accessLogFiles, type LogFile } from './access-log-file';
import { ListenGroup, listenKey } from './servers';
import type { VariableRegistry } from './variables';

/**
 * One immutable runtime per config load: what a worker serves with. A
 * reload builds a new one and swaps it whole.
 */
export class Runtime {
  readonly main: MainConf;
  readonly phases: Phases;
  readonly servers: readonly ServerConf[];
  readonly listens: ReadonlyMap<string, ListenGroup>;
  readonly api: ApiTree;
  /** The worker's store, opened before the modules' worker init and closed after the shutdown hooks. */
  readonly store: StoreService;
  readonly variables: VariableRegistry;
  /** The load's modules, in list order: their initWorker/exitWorker slots run in the worker. */
  readonly modules: readonly Module[];
  readonly connectionHooks: Builder['connectionHooks'];
  readonly handshakeHooks: Builder['handshakeHooks'];
  readonly refusedStreamHooks: Builder['refusedStreamHooks'];
  /** Group commit of shared-store writes, once per event-loop turn. */
  readonly commits: CommitQueue;
  readonly logFiles: readonly LogFile[];
  /** The worker's error log (opened on its first line): upstream errors, refused headers. */
  readonly errorLog: ErrorLog;
  readonly prefix: string;
  readonly confFile: string;
  /** Counts loads: 1 at start, +1 per reload (Angie's `generation`). */
  generation = 1;
  loadTime = new Date();
  /** TLS session ticket keys shared by this load's workers (undefined: Node's own, this process only). */
  tlsTicketKeys: Buffer | undefined;

  /** A path from the config, relative to the prefix (nginx's rule). */
  resolve(p: string): string {
    return require('node:path').resolve(this.prefix, p);
  }

  constructor(b: Builder) {
    this.main = b.main;
    this.phases = b.phases;
    this.servers = b.servers;
    this.api = b.api;
    this.store = b.store;
    this.variables = b.variables;
    this.modules = b.modules;
    this.connectionHooks = b.connectionHooks;
    this.handshakeHooks = b.handshakeHooks;
    this.refusedStreamHooks = b.refusedStreamHooks;
    this.commits = b.commits;
    this.logFiles = [...accessLogFiles(b).values()];
    this.prefix = b.prefix;
    this.confFile = b.confFile;
    this.errorLog = new ErrorLog(this.resolve(b.main.errorLog), b.main.errorLogLevel);
    this.listens = groupListens(b.servers);
  }
}

function groupListens(servers: readonly ServerConf[]): Map<string, ListenGroup> {
  const groups = new Map<string, ListenGroup>();
  for (const s of servers) {
    const seenHere = new Set<string>();
    for (const l of s.listens) {
      const key = listenKey(l.host, l.port);
      if (seenHere.has(key)) throw new ConfigError(`duplicate listen ${key}`, l.file, l.line);
      seenHere.add(key);
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = new ListenGroup(l.host, l.port)));
      if (l.defaultServer && g.defaultServer !== undefined && g.defaultServerExplicit) {
        throw new ConfigError(`a duplicate default server for ${key}`, l.file, l.line);
      }
      g.add(s, l.defaultServer);
      if (l.ssl === true) g.ssl = true;
      if (l.http2 === true) g.http2 = true;
    }
  }
  return groups;
}
