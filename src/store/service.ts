import { leaveEnvironment, openStoreDir, syncEnvironment, type OpenedStore, type StoreEnv } from './environment';

const GIB = 1024 ** 3;

/** The size a store gets unless `metric_store size=` says: LMDB's file grows with the data up to it. */
export function defaultStoreSize(zoneBytes: number): number {
  return Math.max(GIB, 64 * zoneBytes);
}
/** Named databases the store's users open besides the metric zones' two each (meta, status records, limit...). */
const BASE_DBS = 8;

/**
 * The store as a core service: one LMDB environment per worker process,
 * shared by its users — the metric zones (metric/store/), the per-worker
 * status records (worker-records.ts) and the limit zones (kv.ts). Users
 * reserve room at load; the worker opens it before the modules' worker init
 * and leaves it after their exit hooks, so no user depends on another's
 * order or code.
 */
export class StoreService {
  /** `metric_store PATH`: relative to the prefix. */
  dir = 'data';
  /** `metric_store PATH size=`; undefined: max(1 GiB, 64 × the reserved bytes). */
  sizeBytes: number | undefined;
  private reservedBytes = 0;
  private reservedDbs = BASE_DBS;
  private opened: OpenedStore | undefined;
  private syncTimer: NodeJS.Timeout | undefined;

  /** A user's share, declared at load (a metric zone: its size and its two databases). */
  reserve(bytes: number, dbs: number): void {
    this.reservedBytes += bytes;
    this.reservedDbs += dbs;
  }

  /** The open environment, its directory and size; only between the worker's open and close. */
  get current(): OpenedStore {
    if (this.opened === undefined) throw new Error('the store is not open');
    return this.opened;
  }

  /** The open environment (see current). */
  get env(): StoreEnv {
    return this.current.env;
  }

  /**
   * Opens the environment at `absDir`. Commits reach the OS page cache at
   * once (safe against crashes); flushing to disk each second bounds what a
   * power failure can take. `onSyncError` hears a failed flush.
   */
  open(absDir: string, onSyncError: (e: unknown) => void = () => undefined): StoreEnv {
    const mapSize = this.sizeBytes ?? defaultStoreSize(this.reservedBytes);
    this.opened = openStoreDir(absDir, { mapSize, maxDbs: this.reservedDbs });
    const env = this.opened.env;
    this.syncTimer = setInterval(() => void syncEnvironment(env).catch(onSyncError), 1000);
    this.syncTimer.unref();
    return env;
  }

  /** At the worker's exit, once its users are done: flushed, and left to the exit (leaveEnvironment says why not closed). */
  async leave(): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer);
    const opened = this.opened;
    this.opened = undefined;
    if (opened === undefined) return;
    await leaveEnvironment(opened.env).catch(() => undefined);
  }
}
