import type { ConfigWarning } from '../config/errors';
import { Registry, Scope } from '../config/registry';
import type { Module } from './module';
import { ApiTree } from '../api/tree';
import { SlabZones } from '../store/slabs';
import { StoreService } from '../store/service';
import { CommitQueue } from './commit';
import type { LocationConf, Phases, ServerConf } from './conf';
import { VariableRegistry } from './variables';

export interface MainConf {
  workerProcesses: number;
  pid: string;
  errorLog: string;
  /** Where the main `error_log` directive stands (for an [emerg] when the file cannot be opened). */
  errorLogAt?: { file: string; line: number };
  errorLogLevel: string;
  daemon: boolean;
  workerConnections: number;
  /** worker_shutdown_timeout: how long a gracefully stopping worker waits for open connections; 0 = for ever (nginx's default). */
  workerShutdownTimeoutMs: number;
}

/** How a client's TLS handshake ended: Angie's server zone `ssl` counters (a reuse is also handshaked). */
export type HandshakeOutcome = 'handshaked' | 'reused' | 'timedout' | 'failed';

/**
 * The mutable side of a config load. Modules write into it during the
 * walk and postconfiguration; `freeze()` turns it into a Runtime.
 */
export class Builder {
  readonly registry = new Registry();
  readonly variables = new VariableRegistry();
  readonly phases: Phases = { serverRewrite: [], rewrite: [], access: [], precontent: [], header: [], log: [] };
  readonly servers: ServerConf[] = [];
  readonly mainScope = new Scope('main', undefined);
  httpScope?: Scope;
  readonly main: MainConf = {
    workerProcesses: 1,
    pid: 'logs/metricproxy.pid',
    errorLog: 'logs/error.log',
    errorLogLevel: 'error',
    daemon: false,
    workerConnections: 512,
    workerShutdownTimeoutMs: 0,
  };
  /** Called with every client connection a worker accepts (status counters). */
  readonly connectionHooks: Array<(socket: import('node:net').Socket) => void> = [];
  /** Locations serving a module's operator API (kind `throttle`: a throttle zone's), for the console to link to. */
  readonly operatorApis: Array<{ kind: string; name: string; loc: LocationConf }> = [];
  /** Called with the end of every TLS handshake and the server it was for (status counters). */
  readonly handshakeHooks: Array<(server: ServerConf, outcome: HandshakeOutcome) => void> = [];
  /** Called with HTTP/2 streams refused before they became requests (header list too large, flood), per server (status counters). */
  readonly refusedStreamHooks: Array<(server: ServerConf, streams: number) => void> = [];
  readonly commits = new CommitQueue();
  readonly api = new ApiTree();
  /** The store (one LMDB environment per worker) its users share: metric zones, status records, limit zones. */
  readonly store = new StoreService();
  /** The shared-memory zones listed under /status/slabs. */
  readonly slabs = new SlabZones();
  /** Module-owned load-wide state (zones, upstreams, templates), by module name. */
  private readonly state = new Map<string, unknown>();

  readonly modules: Module[] = [];

  constructor(
    readonly prefix: string,
    readonly confFile: string,
  ) {}

  addModule(m: Module): void {
    this.modules.push(m);
    for (const d of m.directives) this.registry.add(d);
  }

  get warnings(): ConfigWarning[] {
    return this.registry.warnings;
  }

  moduleState<T>(module: string, create: () => T): T {
    let s = this.state.get(module) as T | undefined;
    if (s === undefined) {
      s = create();
      this.state.set(module, s);
    }
    return s;
  }

  /** Every location of every server, outer before inner, the server-level root first. */
  *allLocations(): Generator<LocationConf> {
    function* walk(loc: LocationConf): Generator<LocationConf> {
      yield loc;
      for (const c of loc.children) yield* walk(c);
    }
    for (const s of this.servers) {
      yield s.root;
      for (const l of s.locations) yield* walk(l);
      for (const l of s.named.values()) yield* walk(l);
    }
  }

  /** Resolves `path` against the prefix as nginx does for relative paths. */
  resolvePath(p: string): string {
    return require('node:path').resolve(this.prefix, p);
  }
}
