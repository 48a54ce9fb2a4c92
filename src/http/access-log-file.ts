import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Builder } from './builder';

/** An append-only log file that buffers lines and can be reopened (USR1 / -s reopen). */
export class LogFile {
  private stream?: fs.WriteStream;

  constructor(
    readonly file: string,
    /** The first `access_log` naming the file (for an [emerg] when it cannot be opened). */
    readonly at: { file: string; line: number },
  ) {}

  write(line: string): void {
    if (this.stream === undefined) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.stream = fs.createWriteStream(this.file, { flags: 'a' });
      this.stream.on('error', () => undefined);
    }
    this.stream.write(Buffer.from(line, 'latin1'));
  }

  reopen(): void {
    this.stream?.end();
    this.stream = undefined;
  }

  close(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    return new Promise((resolve) => (s ? s.end(resolve) : resolve()));
  }
}

/** The load's access-log files by absolute path: the log module opens them, the runtime reopens and closes them. */
export function accessLogFiles(b: Builder): Map<string, LogFile> {
  return b.moduleState('access_log_files', () => new Map<string, LogFile>());
}
