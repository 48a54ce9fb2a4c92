import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../config/errors';
import type { Runtime } from '../http/runtime';

/** strerror() text of the failures an open() for appending can meet, as nginx prints them. */
const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EROFS: 'Read-only file system',
  ENOSPC: 'No space left on device',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
};

function reasonOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return REASONS[code] ?? (code || String((e as Error).message));
}

/** Opens (creating it, and its directory, if needed) a log file for appending, then closes it. */
function openForAppend(file: string, at: { file: string; line: number } | undefined): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch {
    // the open below reports why the path is unusable, as nginx's open() would
  }
  try {
    fs.closeSync(fs.openSync(file, 'a'));
  } catch (e) {
    throw new ConfigError(`open() "${file}" failed (${reasonOf(e)})`, at?.file, at?.line);
  }
}

/**
 * nginx opens the error log and every access_log file when it starts (and
 * on reload, before it switches), so a path that cannot be written is an
 * [emerg] then, not a silent loss at the first line. The master does the
 * same here; workers open their own descriptors afterwards.
 */
export function openLogFiles(rt: Runtime): void {
  if (rt.main.errorLog !== 'stderr') openForAppend(rt.resolve(rt.main.errorLog), rt.main.errorLogAt);
  for (const f of rt.logFiles) openForAppend(f.file, f.at);
}
