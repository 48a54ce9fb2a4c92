import * as fs from 'node:fs';
import * as path from 'node:path';

const LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'];

/** Whether `name` is an error-log level (a process warning's type may name one: see worker.ts). */
export function isLevel(name: string): boolean {
  return LEVELS.includes(name);
}

/** nginx-shaped error log lines: `2026/11/21 07:37:30 [notice] 123#0: text`. */
export class ErrorLog {
  private fd: number | undefined;

  constructor(
    private file: string,
    private level: string,
  ) {}

  /** True when lines go to stderr already (no log file). */
  get onStderr(): boolean {
    return this.file === 'stderr';
  }

  reconfigure(file: string, level: string): void {
    if (file !== this.file) this.reopenAt(file);
    this.level = level;
  }

  private reopenAt(file: string): void {
    this.close();
    this.file = file;
  }

  reopen(): void {
    this.reopenAt(this.file);
  }

  log(level: string, text: string): void {
    if (LEVELS.indexOf(level) < LEVELS.indexOf(this.level)) return;
    const d = new Date();
    const p = (n: number) => String(n).padStart(2, '0');
    const stamp = `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    const line = `${stamp} [${level}] ${process.pid}#0: ${text}\n`;
    if (this.file === 'stderr') {
      process.stderr.write(line);
      return;
    }
    try {
      if (this.fd === undefined) {
        fs.mkdirSync(path.dirname(this.file), { recursive: true });
        this.fd = fs.openSync(this.file, 'a');
      }
      fs.writeSync(this.fd, line);
    } catch {
      process.stderr.write(line);
    }
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * A failure that repeats (every commit of a broken store) becomes one
 * warning, and another only when the message changes.
 */
export class WarnOnChange {
  private last = '';

  constructor(private readonly prefix: string) {}

  report(e: unknown): void {
    const msg = `${this.prefix}: ${(e as Error)?.message ?? String(e)}`;
    if (msg === this.last) return;
    this.last = msg;
    process.emitWarning(msg);
  }
}
