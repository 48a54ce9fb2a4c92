import * as fs from 'node:fs';

/**
 * Process titles as nginx sets them (`metricproxy: master process <command
 * line>`, `metricproxy: worker process`), so `ps`, `pgrep -f` and monitoring
 * habits work.
 *
 * Node's `process.title` can only reuse the bytes of the original argv, so a
 * title longer than the command line is cut. nginx (ngx_setproctitle) moves
 * the environment away and writes the title over argv and environ together;
 * this does the same through /proc/self/mem: every environment variable is
 * set again first (glibc's setenv gives each a fresh heap copy, so nothing
 * reads the old strings any more), then the title and NUL padding go over
 * the whole area. Linux shows a cmdline whose argv end was overwritten up to
 * the first NUL, as for setproctitle(3).
 */

/** The argv and environ areas of this process (fields 48-51 of /proc/self/stat). */
function argArea(): { start: number; end: number } {
  const stat = fs.readFileSync('/proc/self/stat', 'latin1');
  // Fields after the command name, which sits in parentheses and may hold spaces; field 3 is first.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const argStart = Number(fields[48 - 3]);
  const envEnd = Number(fields[51 - 3]);
  if (!(argStart > 0 && envEnd > argStart)) throw new Error('no argument area in /proc/self/stat');
  return { start: argStart, end: envEnd };
}

/** The command line this process was started with, as `ps` showed it before any title. */
export function commandLine(): string {
  try {
    return fs.readFileSync('/proc/self/cmdline', 'latin1').replace(/\0+$/, '').split('\0').join(' ');
  } catch {
    return [process.argv0, ...process.argv.slice(1)].join(' ');
  }
}

let environMoved = false;

function writeOverArgs(title: string): void {
  const area = argArea();
  if (!environMoved) {
    for (const [name, value] of Object.entries(process.env)) if (value !== undefined) process.env[name] = value;
    environMoved = true;
  }
  const size = area.end - area.start;
  const bytes = Buffer.alloc(size);
  bytes.write(title.slice(0, size - 1), 'latin1');
  const fd = fs.openSync('/proc/self/mem', 'r+');
  try {
    fs.writeSync(fd, bytes, 0, size, area.start);
  } finally {
    fs.closeSync(fd);
  }
}

/** Sets the title `ps` shows; where /proc/self/mem is not writable, as much of it as Node can. */
export function setProcessTitle(title: string): void {
  // The short name (/proc/PID/comm, `ps -o comm`, `pgrep metricproxy`), as nginx's stays "nginx".
  process.title = 'metricproxy';
  try {
    writeOverArgs(title);
  } catch {
    process.title = title;
  }
}
