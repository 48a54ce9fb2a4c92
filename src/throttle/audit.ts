/**
 * The audit trail: one JSON line per transition, appended (O_APPEND, one
 * write per line, so lines of several workers never interleave) by
 * whichever process made the change, after its transaction committed.
 * Reopened on `-s reopen` like the other logs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { limitView, Transition } from './transitions';

export class AuditLog {
  private fd: number | undefined;

  constructor(readonly file: string) {}

  /** The line for one transition: time, key, from, to, source, actor, samples, limit, ttl. */
  static line(tr: Transition, now: number): string {
    const rec = tr.record;
    return JSON.stringify({
      time: new Date(now).toISOString(),
      zone: tr.zone,
      key: tr.key,
      from: tr.from,
      to: tr.to,
      source: tr.source,
      actor: tr.actor ?? null,
      samples: tr.samples ?? null,
      ...limitView(rec.limit),
      ttl_seconds: rec.ttlMs / 1000,
      triggers: rec.triggers,
      reason: rec.reason,
      version: rec.version,
    });
  }

  write(transitions: readonly Transition[], now = Date.now()): void {
    if (transitions.length === 0) return;
    const text = transitions.map((tr) => AuditLog.line(tr, now) + '\n').join('');
    try {
      fs.writeSync(this.open(), text);
    } catch (e) {
      process.emitWarning(`throttle audit log "${this.file}": ${(e as Error).message}`, 'error');
    }
  }

  reopen(): void {
    this.close();
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private open(): number {
    if (this.fd === undefined) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.fd = fs.openSync(this.file, 'a');
    }
    return this.fd;
  }
}
