/**
 * The metric store: every zone of one metricproxy instance in one LMDB
 * environment, shared by all worker processes (LMDB serialises writers
 * across processes, so concurrent updates are never lost).
 *
 * Layout, per zone and definition fingerprint (see zoneFingerprint):
 *   z/<zone>/<fp>   key bytes → key record
 *   l/<zone>/<fp>   [seq u64 BE][key bytes] → (empty): least recently updated first
 *   meta            c/<zone> → the fingerprint the newest config uses
 *                   m/<zone>/<fp> → the zone's meta record
 * Giving every definition its own databases lets workers of an old config
 * keep writing during a reload without touching the new definition's data.
 *
 * Durability: the environment is opened with noSync. A commit is in the OS
 * page cache as soon as it returns, so a crash of metricproxy (or of a
 * worker) loses nothing; only an OS crash or power failure can lose what
 * was committed since the last sync() — and, as LMDB documents for noSync,
 * may then leave the file damaged. Metrics are counters, not ledgers: the
 * caller runs sync() on a timer to bound that window instead of paying an
 * fsync per request.
 */
import * as fs from 'node:fs';
import * as lmdb from 'node-lmdb';
import { Zone, type ZoneDef } from '../zone';
import { MetricReader, type ReadableZone } from './reader';
import { staleKeys } from './ttl';
import { ZoneWriter, type ZoneDbis } from './zone-writer';

export interface MetricUpdate {
  zone: string;
  /** A byte string: every char code below 256 (UTF-8 bytes read as latin1). */
  key: string;
  value: number;
}

export interface StoreOptions {
  /** Clock for averages and windows; Date.now by default (comparable across processes). */
  now?: () => number;
}

const GIB = 1024 ** 3;

/** Virtual address space only: LMDB's file grows with the data, not with this. */
function mapSizeFor(zones: readonly ZoneDef[]): number {
  const total = zones.reduce((sum, z) => sum + z.size, 0);
  return Math.max(GIB, 64 * total);
}

interface OpenZone extends ReadableZone {
  writer: ZoneWriter;
}

/**
 * Directories open in this process. LMDB must not open one environment
 * twice in a process: closing either copy drops the other's file locks.
 */
const openDirs = new Set<string>();

export class MetricStore {
  private batch = 0;
  private readonly touched: ZoneWriter[] = [];

  private constructor(
    private readonly dir: string,
    /** Shared with the status counters' own database (counters.ts). */
    readonly env: lmdb.Env,
    private readonly metaDbi: lmdb.Dbi,
    private readonly zones: ReadonlyMap<string, OpenZone>,
    private readonly now: () => number,
  ) {}

  /**
   * Opens (creating if needed) the store in `dir` for these zone
   * definitions. A zone whose definition changed since the store last saw
   * it starts empty; an unchanged one keeps its data. One store per
   * process: LMDB forbids opening the same environment twice in a process.
   */
  static open(dir: string, defs: readonly ZoneDef[], opts: StoreOptions = {}): MetricStore {
    fs.mkdirSync(dir, { recursive: true });
    const realDir = fs.realpathSync(dir);
    if (openDirs.has(realDir)) throw new Error(`metric store ${realDir} is already open in this process`);
    const env = new lmdb.Env();
    env.open({ path: realDir, mapSize: mapSizeFor(defs), maxDbs: 2 * defs.length + 8, maxReaders: 1024, noSync: true });
    try {
      const metaDbi = env.openDbi({ name: 'meta', create: true, keyIsBuffer: true });
      const zones = openZones(env, metaDbi, defs);
      openDirs.add(realDir);
      return new MetricStore(realDir, env, metaDbi, zones, opts.now ?? Date.now);
    } catch (err) {
      env.close();
      throw err;
    }
  }

  /** Applies updates in order, all in one write transaction (one request phase). */
  applyBatch(updates: readonly MetricUpdate[]): void {
    if (updates.length === 0) return;
    const batch = ++this.batch;
    const nowMs = this.now();
    const txn = this.env.beginTxn();
    try {
      for (const u of updates) {
        const writer = this.zone(u.zone).writer;
        if (!this.touched.includes(writer)) this.touched.push(writer);
        writer.apply(txn, batch, u.key, u.value, nowMs);
      }
      for (const writer of this.touched) writer.flush(txn);
      txn.commit();
    } catch (err) {
      txn.abort();
      throw err;
    } finally {
      this.touched.length = 0;
    }
  }

  /** A consistent snapshot of all zones; close() it when done. */
  reader(): MetricReader {
    return new MetricReader(this.env.beginTxn({ readOnly: true }), this.zones, this.metaDbi, this.now());
  }

  /** `$metric_NAME_value` / `_value_SUB` for one key, read on its own. */
  keyStateText(zone: string, key: string, sub?: string): string | undefined {
    const reader = this.reader();
    try {
      return reader.text(zone, key, sub);
    } finally {
      reader.close();
    }
  }

  /** Flushes committed data to disk (off the main thread). */
  sync(): Promise<void> {
    const env = this.env as unknown as { sync(done: (err: Error | null) => void): void };
    return new Promise((resolve, reject) => env.sync((err) => (err ? reject(err) : resolve())));
  }

  /** API DELETE of a zone: its keys and `discarded` are gone, in one transaction. */
  clearZone(zone: string): void {
    const writer = this.zone(zone).writer;
    this.writeTxn((txn) => writer.clear(txn));
  }

  /** API DELETE of one key; false when the zone shows no such key. */
  deleteKey(zone: string, key: string): boolean {
    const writer = this.zone(zone).writer;
    const nowMs = this.now();
    return this.writeTxn((txn, batch) => {
      const removed = writer.removeKey(txn, batch, key, nowMs);
      writer.flush(txn);
      return removed;
    });
  }

  /**
   * Drops the keys past their zone's ttl; returns how many. A read finds
   * whether any zone has one first, so an idle sweep writes nothing.
   */
  sweepExpired(): number {
    const nowMs = this.now();
    const due = this.zonesWithStaleKeys(nowMs);
    if (due.length === 0) return 0;
    return this.writeTxn((txn, batch) => {
      let swept = 0;
      for (const { writer } of due) {
        swept += writer.sweep(txn, batch, nowMs);
        writer.flush(txn);
      }
      return swept;
    });
  }

  close(): void {
    for (const z of this.zones.values()) {
      z.dbis.records.close();
      z.dbis.lru.close();
    }
    this.metaDbi.close();
    this.env.close();
    openDirs.delete(this.dir);
  }

  private zonesWithStaleKeys(nowMs: number): OpenZone[] {
    const withTtl = [...this.zones.values()].filter((z) => z.zone.ttl > 0);
    if (withTtl.length === 0) return [];
    const txn = this.env.beginTxn({ readOnly: true });
    try {
      return withTtl.filter((z) => staleKeys(txn, z.dbis.lru, z.zone.ttl, nowMs, 1).length > 0);
    } finally {
      txn.abort();
    }
  }

  /** One write transaction outside the per-phase batches (API writes, sweeps). */
  private writeTxn<T>(body: (txn: lmdb.Txn, batch: number) => T): T {
    const batch = ++this.batch;
    const txn = this.env.beginTxn();
    try {
      const result = body(txn, batch);
      txn.commit();
      return result;
    } catch (err) {
      txn.abort();
      throw err;
    }
  }

  private zone(name: string): OpenZone {
    const found = this.zones.get(name);
    if (found === undefined) throw new Error(`unknown metric zone "${name}"`);
    return found;
  }
}

/** Opens every zone's databases in one write transaction, emptying changed ones. */
function openZones(env: lmdb.Env, metaDbi: lmdb.Dbi, defs: readonly ZoneDef[]): Map<string, OpenZone> {
  const zones = new Map<string, OpenZone>();
  const txn = env.beginTxn();
  try {
    for (const def of defs) {
      if (zones.has(def.name)) throw new Error(`duplicate metric zone "${def.name}"`);
      zones.set(def.name, openZone(env, txn, metaDbi, new Zone(def)));
    }
    txn.commit();
  } catch (err) {
    txn.abort();
    throw err;
  }
  return zones;
}

function openZone(env: lmdb.Env, txn: lmdb.Txn, metaDbi: lmdb.Dbi, zone: Zone): OpenZone {
  const { name } = zone.def;
  const fp = zone.fingerprint;
  const dbis: ZoneDbis = {
    records: env.openDbi({ name: `z/${name}/${fp}`, create: true, keyIsBuffer: true, txn }),
    lru: env.openDbi({ name: `l/${name}/${fp}`, create: true, keyIsBuffer: true, txn }),
    metaKey: Buffer.from(`m/${name}/${fp}`),
  };
  const writer = new ZoneWriter(zone, dbis, metaDbi);
  const currentKey = Buffer.from(`c/${name}`);
  const current = txn.getBinary(metaDbi, currentKey) as Buffer | null;
  // Switching to this definition from another one (A→B, or back B→A)
  // starts it empty; reopening the same definition keeps its data.
  if (current === null || current.toString() !== fp) {
    dbis.records.drop({ txn, justFreePages: true });
    dbis.lru.drop({ txn, justFreePages: true });
    txn.putBinary(metaDbi, dbis.metaKey, writer.freshMeta());
    txn.putBinary(metaDbi, currentKey, Buffer.from(fp));
  }
  writer.markOrderUnknown(txn);
  return { zone, dbis, writer };
}
