import { ChildProcess, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * What /proc says about metricproxy's processes: worker pids, memory, open
 * descriptors. Linux only, as the e2e suite is.
 */

/** Direct children of `pid` (a master's workers). */
export function childPids(pid: number): number[] {
  const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

/** Resident memory of a process in MiB (`VmRSS`), or its peak (`VmHWM`). */
export function memoryMiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]) / 1024;
}

/** Open file descriptors of a process. */
export function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** Open TCP sockets of a process (descriptors pointing at `socket:[...]`). */
export function socketCount(pid: number): number {
  let n = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      /* closed while listing */
    }
  }
  return n;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls `probe` until it returns something other than undefined; bounded by
 * `timeoutMs`. The condition, never the elapsed time, is what a test asserts.
 */
export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A 1 MiB tmpfs with 640 KiB of it taken by a `filler` file (delete it to
 * free the room): a disk that fills up at once. Root only; `cleanups` gets
 * the unmount.
 */
export function smallDisk(cleanups: Array<() => void>): { mnt: string; filler: string } {
  if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs: run it as root');
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
  cleanups.push(() => {
    execFileSync('umount', ['-l', mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  });
  const filler = path.join(mnt, 'filler');
  fs.writeFileSync(filler, Buffer.alloc(640 * 1024, 1));
  return { mnt, filler };
}

/**
 * Stops a process a test started: `signal`, then SIGKILL if it is still
 * there after 10 s; resolves once it has exited (at once if it already had).
 */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
