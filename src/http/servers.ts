import { compileRegex } from '../config/regex';
import type { ServerConf, ServerNameMatch } from './conf';

/** Servers sharing one listening socket, with nginx's name lookup tables. */
export class ListenGroup {
  readonly exact = new Map<string, ServerConf>();
  readonly headWild: Array<{ suffix: string; server: ServerConf }> = [];
  readonly tailWild: Array<{ prefix: string; server: ServerConf }> = [];
  readonly regex: Array<{ re: RegExp; server: ServerConf }> = [];
  defaultServer!: ServerConf;
  defaultServerExplicit = false;
  /** Some `listen` of this address says `ssl` (nginx: the socket terminates TLS). */
  ssl = false;
  /** Some `listen` of this address says `http2` (nginx 1.22's form): every server on it offers h2. */
  http2 = false;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  get key(): string {
    return listenKey(this.host, this.port);
  }

  add(server: ServerConf, isDefault: boolean): void {
    if (this.defaultServer === undefined || isDefault) this.defaultServer = server;
    if (isDefault) this.defaultServerExplicit = true;
    for (const n of server.names) this.addName(n, server);
  }

  private addName(n: ServerNameMatch, server: ServerConf): void {
    switch (n.kind) {
      case 'exact':
        if (!this.exact.has(n.name)) this.exact.set(n.name, server);
        break;
      case 'wildcard-head':
        this.headWild.push({ suffix: n.suffix, server });
        this.headWild.sort((a, b) => b.suffix.length - a.suffix.length);
        break;
      case 'wildcard-tail':
        this.tailWild.push({ prefix: n.prefix, server });
        this.tailWild.sort((a, b) => b.prefix.length - a.prefix.length);
        break;
      case 'regex':
        this.regex.push({ re: n.re, server });
        break;
    }
  }

  /** nginx order: exact, longest `*.` wildcard, longest `.*` wildcard, first regex, default. */
  select(host: string): { server: ServerConf; captures: RegExpExecArray | null } {
    if (host !== '') {
      const exact = this.exact.get(host);
      if (exact !== undefined) return { server: exact, captures: null };
      for (const w of this.headWild) if (host.endsWith(w.suffix)) return { server: w.server, captures: null };
      for (const w of this.tailWild) if (host.startsWith(w.prefix)) return { server: w.server, captures: null };
      for (const x of this.regex) {
        const m = x.re.exec(host);
        if (m !== null) return { server: x.server, captures: m };
      }
    }
    return { server: this.defaultServer, captures: null };
  }
}

export function listenKey(host: string, port: number): string {
  if (host.startsWith('unix:')) return host;
  return `${host === '' ? '*' : host}:${port}`;
}

/** Parses a `server_name` argument. `.example.com` means both the name and its subdomains. */
export function parseServerName(name: string): ServerNameMatch[] {
  if (name.startsWith('~')) {
    const src = name.slice(1);
    return [{ kind: 'regex', re: compileRegex(src, true), source: src }];
  }
  const lower = name.toLowerCase();
  if (lower.startsWith('*.')) return [{ kind: 'wildcard-head', suffix: lower.slice(1) }];
  if (lower.startsWith('.')) return [{ kind: 'exact', name: lower.slice(1) }, { kind: 'wildcard-head', suffix: lower }];
  if (lower.endsWith('.*')) return [{ kind: 'wildcard-tail', prefix: lower.slice(0, -1) }];
  return [{ kind: 'exact', name: lower }];
}
