import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * How many words of the LMDB lock file's header in `dir` read -1: glibc's
 * mark on a destroyed mutex, which LMDB's last mdb_env_close leaves there
 * (src/store/environment.ts, leaveEnvironment).
 */
export function destroyedMutexMarks(dir: string): number {
  const head = fs.readFileSync(path.join(dir, 'lock.mdb')).subarray(0, 256);
  return Array.from({ length: head.length / 4 }, (_, i) => head.readInt32LE(4 * i)).filter((word) => word === -1).length;
}
