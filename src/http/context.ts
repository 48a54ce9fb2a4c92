import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LocationConf, ServerConf } from './conf';
import type { Runtime } from './runtime';

export interface UpstreamAttempt {
  addr: string;
  status: string;
  connectTime?: number;
  headerTime?: number;
  responseTime?: number;
  bytesReceived: number;
  bytesSent: number;
}

export type OutHeaders = Record<string, string | string[]>;

/**
 * Per-request state shared by the phases. Fields are plain and typed so
 * V8 keeps one shape; modules keep their own state in `moduleCtx`.
 */
export class HttpContext {
  readonly startMs: number;
  readonly startHr: bigint;
  server!: ServerConf;
  loc!: LocationConf;
  /** The validated host the request names (target or Host header), '' if none: picks the server, gives $host. */
  host = '';
  /** Normalised, decoded path ($uri). */
  uri = '/';
  /** Query string without `?` ($args). */
  args = '';
  captures: string[] | null = null;
  namedCaptures: Record<string, string> | null = null;
  readonly userVars = new Map<string, string>();
  /** Status sent (or to be sent); 0 until headers go out. */
  status = 0;
  headerSent = false;
  /** Bytes of the body written to the client. */
  bodyBytesSent = 0;
  headerBytesSent = 0;
  requestBodyBytes = 0;
  finished = false;
  aborted = false;
  /** Set when the log phase has run, so it runs once. */
  logged = false;
  upstreams: UpstreamAttempt[] = [];
  upstreamHeaders: Record<string, string | string[] | undefined> | null = null;
  sentHeaders: OutHeaders | null = null;
  readonly moduleCtx: Record<string, unknown> = {};
  requestId = '';
  endMs = 0;
  /** Set for `Upgrade` requests: the raw client socket and the bytes read past the header. */
  upgrade: { socket: import('node:net').Socket; head: Buffer } | null = null;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly runtime: Runtime,
    readonly connectionRequests: number,
  ) {
    this.startMs = Date.now();
    this.startHr = process.hrtime.bigint();
  }

  /** Seconds since the request started, as nginx prints them (millisecond resolution). */
  elapsed(): number {
    const end = this.endMs > 0 ? this.endMs : Date.now();
    return Math.max(0, end - this.startMs) / 1000;
  }
}
