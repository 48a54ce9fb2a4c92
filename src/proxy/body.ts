import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

/** The upstream did not take request bytes for proxy_send_timeout. */
export class SendTimeoutError extends Error {
  override name = 'SendTimeoutError';
}

/** The client's body ended early (the client went away mid-upload). */
export class ClientBodyError extends Error {
  override name = 'ClientBodyError';
}

/** A body without Content-Length (chunked) grew past client_max_body_size. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

/** Big enough to hold one socket read, so a 64 KiB chunk does not pause the client at once. */
const HIGH_WATER_MARK = 128 * 1024;

/**
 * The client's request body as undici reads it, pulled with backpressure.
 *
 * Why not hand undici the IncomingMessage itself: undici destroys a body
 * stream when done and, for an IncomingMessage, first sets `req.socket =
 * null` — which later breaks $remote_addr and friends in the log phase.
 * The wrapper also counts bytes ($upstream_bytes_sent, $request_length),
 * tells whether the body was touched (a touched body cannot be replayed to
 * the next upstream) and enforces proxy_send_timeout: buffered bytes the
 * upstream has not taken within the timeout abort the attempt. It also
 * enforces client_max_body_size as the bytes arrive: a Content-Length body
 * was checked before routing went on, a chunked one can only be counted.
 */
export class RequestBody extends Readable {
  bytes = 0;
  started = false;
  private stallTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly src: IncomingMessage,
    private readonly sendTimeoutMs: number,
    /** client_max_body_size; 0 = no limit. */
    private readonly maxBytes: number,
  ) {
    super({ highWaterMark: HIGH_WATER_MARK });
  }

  override _read(): void {
    this.clearStall();
    if (!this.started) this.attach();
    this.src.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.clearStall();
    this.detach();
    if (!this.src.readableEnded) this.src.pause();
    cb(err);
  }

  private attach(): void {
    this.started = true;
    this.src.on('data', this.onData);
    this.src.on('end', this.onEnd);
    this.src.on('close', this.onClose);
    this.src.on('error', this.onError);
  }

  private detach(): void {
    this.src.off('data', this.onData);
    this.src.off('end', this.onEnd);
    this.src.off('close', this.onClose);
    this.src.off('error', this.onError);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.bytes += chunk.length;
    if (this.maxBytes > 0 && this.bytes > this.maxBytes) {
      this.destroy(new BodyTooLargeError(`client intended to send too large chunked body: ${this.bytes} bytes`));
      return;
    }
    if (this.push(chunk)) return;
    this.src.pause();
    this.stallTimer ??= setTimeout(() => this.destroy(new SendTimeoutError('upstream timed out while sending request')), this.sendTimeoutMs);
  };

  private readonly onEnd = (): void => {
    this.push(null);
  };

  private readonly onClose = (): void => {
    if (!this.src.complete) this.destroy(new ClientBodyError('client prematurely closed connection'));
  };

  private readonly onError = (): void => {
    this.destroy(new ClientBodyError('client request body read failed'));
  };

  private clearStall(): void {
    if (this.stallTimer === undefined) return;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }
}
