import { ConfigError, ConfigWarning } from './errors';
import { Directive } from './parser';
import { takeUnboundedRegexes } from './regex';

/** A place a directive may stand in. Raw blocks are read by their own handler. */
export type Context = 'main' | 'events' | 'http' | 'server' | 'location' | 'upstream';

/** '0', '1', '2', '1..3', '1+', '2+' — nginx's TAKE/1MORE/2MORE flags as text. */
export type Arity = string;

export interface DirectiveSpec {
  name: string;
  contexts: readonly Context[];
  args: Arity;
  /**
   * 'walk': the block opens `opens` and the registry walks its directives;
   * 'raw': the handler reads `d.block` itself (complex zones, templates).
   */
  block?: 'walk' | 'raw';
  /** Context the block opens (only for block: 'walk'). */
  opens?: Context;
  /** May appear once per scope; the registry reports `"x" directive is duplicate`. */
  unique?: boolean;
  /**
   * Applies the directive to the scope it stands in. For 'walk' blocks it
   * returns the child scope the registry walks next.
   */
  set(d: Directive, scope: Scope): Scope | void;
}

/** A node of the config tree as the registry walks it. Modules keep their data in `confs`. */
export class Scope {
  readonly confs = new Map<string, unknown>();
  readonly seen = new Set<string>();

  constructor(
    readonly context: Context,
    readonly parent: Scope | undefined,
    /** The context-owned object (a server, a location); free-form per context. */
    public owner: unknown = undefined,
  ) {}

  /** The module's conf for this scope, created on first use. */
  conf<T>(module: string, create: () => T): T {
    let c = this.confs.get(module) as T | undefined;
    if (c === undefined) {
      c = create();
      this.confs.set(module, c);
    }
    return c;
  }
}

/**
 * A module's conf slot, typed once where the module declares it (nginx's
 * ngx_http_get_module_loc_conf): a scope's conf during the walk (`Level`)
 * and a level's merged conf (`T`, what the module's merge makes of it) are
 * read through it, with no cast at each use.
 */
export class ConfSlot<T, Level = T> {
  constructor(readonly module: string) {}

  /** The slot at `scope` during the walk, created on first use. */
  at(scope: Scope, create: () => Level): Level {
    return scope.conf<Level>(this.module, create);
  }

  /** Sets the slot at `scope` during the walk. */
  set(scope: Scope, value: Level): void {
    scope.confs.set(this.module, value);
  }

  /** A level's merged conf (LocationConf.conf); undefined where the module left none. */
  of(confs: Readonly<Record<string, unknown>> | undefined): T | undefined {
    return confs?.[this.module] as T | undefined;
  }

  /** As `of`, for a module whose merge gives every level a conf. */
  get(confs: Readonly<Record<string, unknown>>): T {
    return confs[this.module] as T;
  }
}

/** nginx directives that are safe to ignore: they load with a [warn]. */
const HARMLESS = new Set([
  'sendfile', 'tcp_nopush', 'tcp_nodelay', 'types_hash_max_size', 'types_hash_bucket_size',
  'server_names_hash_bucket_size', 'server_names_hash_max_size', 'variables_hash_bucket_size',
  'variables_hash_max_size', 'client_body_temp_path', 'proxy_temp_path', 'fastcgi_temp_path',
  'uwsgi_temp_path', 'scgi_temp_path', 'gzip', 'gzip_types', 'server_tokens',
  'charset', 'user', 'worker_rlimit_nofile', 'multi_accept', 'use', 'accept_mutex',
  'open_file_cache', 'reset_timedout_connection', 'client_body_buffer_size', 'proxy_buffering',
  'proxy_buffers', 'proxy_buffer_size', 'proxy_busy_buffers_size', 'proxy_http_version',
  'proxy_request_buffering', 'lingering_close', 'lingering_timeout', 'worker_cpu_affinity',
  'server_name_in_redirect', 'port_in_redirect', 'absolute_redirect', 'log_not_found',
  'client_header_buffer_size', 'resolver', 'resolver_timeout',
]);

function arityOk(arity: Arity, n: number): boolean {
  if (/^\d+$/.test(arity)) return n === Number(arity);
  let m = /^(\d+)\.\.(\d+)$/.exec(arity);
  if (m) return n >= Number(m[1]) && n <= Number(m[2]);
  m = /^(\d+)\+$/.exec(arity);
  if (m) return n >= Number(m[1]);
  throw new Error(`bad arity spec ${arity}`);
}

/**
 * The only place that checks placement, arity and block shape; handlers
 * receive well-formed directives and report short phrases.
 */
export class Registry {
  private readonly specs = new Map<string, DirectiveSpec>();
  readonly warnings: ConfigWarning[] = [];

  add(spec: DirectiveSpec): void {
    if (this.specs.has(spec.name)) throw new Error(`directive ${spec.name} registered twice`);
    this.specs.set(spec.name, spec);
  }

  has(name: string): boolean {
    return this.specs.has(name);
  }

  walk(directives: Directive[], scope: Scope): void {
    for (const d of directives) this.apply(d, scope);
  }

  private apply(d: Directive, scope: Scope): void {
    const spec = this.specs.get(d.name);
    if (spec === undefined) {
      if (HARMLESS.has(d.name)) {
        this.warnings.push({ message: `"${d.name}" directive is ignored by metricproxy`, file: d.file, line: d.line });
        return;
      }
      throw new ConfigError(`unknown directive "${d.name}"`, d.file, d.line);
    }
    if (!spec.contexts.includes(scope.context)) {
      throw new ConfigError(`"${d.name}" directive is not allowed here`, d.file, d.line);
    }
    if (spec.block !== undefined && d.block === undefined) {
      throw new ConfigError(`directive "${d.name}" has no opening "{"`, d.file, d.line);
    }
    if (spec.block === undefined && d.block !== undefined) {
      throw new ConfigError(`directive "${d.name}" has no closing ";"`, d.file, d.line);
    }
    if (!arityOk(spec.args, d.args.length)) {
      throw new ConfigError(`invalid number of arguments in "${d.name}" directive`, d.file, d.line);
    }
    if (spec.unique) {
      if (scope.seen.has(d.name)) throw new ConfigError(`"${d.name}" directive is duplicate`, d.file, d.line);
      scope.seen.add(d.name);
    }
    let child: Scope | void;
    try {
      child = spec.set(d, scope);
    } catch (e) {
      if (e instanceof ConfigError) throw e.at(d.file, d.line);
      throw e;
    }
    for (const source of takeUnboundedRegexes()) {
      this.warnings.push({ message: `regex "${source}" cannot run in linear time (backreference or lookaround): it has no time bound`, file: d.file, line: d.line });
    }
    if (spec.block === 'walk') {
      if (!(child instanceof Scope)) throw new Error(`directive ${d.name} returned no scope`);
      this.walk(d.block ?? [], child);
    }
  }
}
