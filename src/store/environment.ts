/**
 * The LMDB environment under the store (lmdb-js, an N-API addon): how it is
 * opened, and the check of its data file that runs first. This file and its
 * neighbours in src/store/ and src/metric/store/ are the only code that knows LMDB.
 *
 * The check matters because LMDB maps the file and trusts its meta pages: a
 * file cut short (a full disk during a copy, `truncate`) makes every worker
 * die of SIGBUS when it touches a page past the end, and a file in LMDB's
 * older data format (node-lmdb, metricproxy ≤ 0.1) crashes lmdb-js outright.
 * Both are found here from the file's first two pages, before any mapping.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { OpenGate } from './open-gate';

export type StoreEnv = RootDatabase<Buffer, Buffer>;
export type StoreDb = Database<Buffer, Buffer>;

/** The store cannot be opened as it is; `message` says why and what to do (one line). */
export class StoreDamaged extends Error {}

const MAGIC = 0xbeefc0de;
/** lmdb-js writes LMDB's data format 2; node-lmdb (LMDB 0.9) wrote format 1. */
const DATA_VERSION = 2;
/**
 * A meta page: the page header (16 bytes in format 1, 24 in format 2, which
 * adds a txnid), then magic, version, address, map size, the free and main DB
 * records (the first one's pad is the page size), last page, txnid.
 */
const HEADER_BYTES = [16, 24];
const FROM_MAGIC = { version: 4, pageSize: 24, lastPage: 120, txnId: 128, end: 136 } as const;

interface MetaPage {
  version: number;
  pageSize: number;
  lastPage: number;
  txnId: number;
}

function readMeta(fd: number, offset: number): MetaPage | undefined {
  const buf = Buffer.alloc(HEADER_BYTES[1] + FROM_MAGIC.end);
  if (fs.readSync(fd, buf, 0, buf.length, offset) < buf.length) return undefined;
  const at = HEADER_BYTES.find((n) => buf.readUInt32LE(n) === MAGIC);
  if (at === undefined) return undefined;
  return {
    version: buf.readUInt32LE(at + FROM_MAGIC.version),
    pageSize: buf.readUInt32LE(at + FROM_MAGIC.pageSize),
    lastPage: Number(buf.readBigUInt64LE(at + FROM_MAGIC.lastPage)),
    txnId: Number(buf.readBigUInt64LE(at + FROM_MAGIC.txnId)),
  };
}

/**
 * Throws StoreDamaged when `dir`'s data file cannot be opened safely: not an
 * LMDB file, the old data format, or shorter than its newest meta page says.
 * A missing or empty file is fine (LMDB creates it).
 */
export function checkDataFile(dir: string): void {
  const file = path.join(dir, 'data.mdb');
  // Another worker may be creating or growing the file this very moment (two workers opening a new
  // store): its meta page can name pages a moment before the file holds them. A damaged file stays
  // damaged, so only a verdict that holds for a while counts.
  let damage = inspectDataFile(dir, file);
  for (let tries = 0; damage !== undefined && tries < DAMAGE_RECHECKS; tries++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, DAMAGE_RECHECK_MS);
    damage = inspectDataFile(dir, file);
  }
  if (damage !== undefined) throw new StoreDamaged(damage);
}

const DAMAGE_RECHECKS = 20;
const DAMAGE_RECHECK_MS = 100;

/** What is wrong with the data file, or undefined when it can be opened (or does not exist yet). */
function inspectDataFile(dir: string, file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return undefined;
    const first = readMeta(fd, 0);
    const second = first && first.pageSize > 0 ? readMeta(fd, first.pageSize) : undefined;
    const aside = `move ${dir} aside and start again (its metrics start over; nothing else is kept there)`;
    if (first === undefined || second === undefined) return `metric store "${file}" is damaged or not an LMDB file (${size} bytes): ${aside}`;
    if (first.version !== DATA_VERSION) {
      return `metric store "${file}" has LMDB data format ${first.version} (written by metricproxy 0.1 on node-lmdb), this build reads format ${DATA_VERSION}: ${aside}`;
    }
    const newest = first.txnId >= second.txnId ? first : second;
    const needed = (newest.lastPage + 1) * newest.pageSize;
    if (size < needed) return `metric store "${file}" is truncated (${size} bytes, its meta page needs ${needed}): ${aside}`;
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

export interface EnvOptions {
  /** The map reserved at open; lmdb-js grows it when the data outgrows it. */
  mapSize: number;
  maxDbs: number;
}

/**
 * Opens (creating if needed) the environment in `dir` after checkDataFile.
 * noSync: a commit is in the OS page cache when it returns (safe against a
 * crash of any process); the caller flushes to disk on a timer (sync()).
 * useWritemap: with LMDB's read-only map, workers writing the same named
 * database through lmdb-js (2.9 to 3.5 alike) now and then fail with
 * "MDB_BAD_TXN: mdb_page_touch no parent" — 4 of 120 three-process runs
 * here; with the writable map, 0 of 300, and commits take a third of the
 * time (bench/results/micro-writemap.md). The writable map's one danger, a
 * full disk turning a write into SIGBUS, is what DiskRoom keeps away.
 * noSubdir false: `dir` is a directory even when its name has a dot, which
 * lmdb-js would otherwise take for a file name.
 * Keys and values are raw bytes: no msgpack, no ordered-binary.
 */
export function openEnvironment(dir: string, opts: EnvOptions): StoreEnv {
  checkDataFile(dir);
  const room = new DiskRoom(dir);
  room.ensure(1);
  const gate = OpenGate.open(dir);
  const env = gate.hold(() => open<Buffer, Buffer>({
    path: dir,
    noSubdir: false,
    mapSize: opts.mapSize,
    maxDbs: opts.maxDbs,
    maxReaders: 1024,
    noSync: true,
    overlappingSync: false,
    useWritemap: true,
    keyEncoding: 'binary',
    encoding: 'binary',
  }));
  guards.set(env, { room, gate });
  return env;
}

/**
 * Closes what openEnvironment opened, for a process that goes on without
 * it while no other process may be opening it (tests, tools). A process
 * sharing the store with others leaves it instead (leaveEnvironment).
 */
export async function closeEnvironment(env: StoreEnv): Promise<void> {
  await env.close();
  await guards.get(env)?.gate.close();
}

/**
 * Runs `body` in one write transaction of `env` (committed if it returns,
 * rolled back if it throws) once the disk has room for `updates` updates.
 * Every write to the store goes through here.
 */
export function writeTxn<T>(env: StoreEnv, body: () => T, updates = 1): T {
  const guard = guards.get(env);
  if (guard === undefined) throw new Error('the store is not open');
  guard.room.ensure(updates);
  return guard.gate.hold(() => env.transactionSync(body));
}

/** What every write to an environment passes: the disk-room check and the open gate (open-gate.ts). */
const guards = new WeakMap<StoreEnv, { room: DiskRoom; gate: OpenGate }>();

/** Above this much free space a check holds for a while; below it every commit checks. */
const ROOMY_BYTES = 64 * 1024 * 1024;
const ROOMY_RECHECK_MS = 100;
/** What one commit may add past the data file's high-water mark: a margin, and per update a few pages of each tree it touches. */
const MARGIN_BYTES = 64 * 1024;
const BYTES_PER_UPDATE = 8 * 4096;

/**
 * Writing through the map into a part of the file the disk has no room
 * for kills the process with SIGBUS; no error can be returned. So a commit
 * only starts when the filesystem has room for what it may add, and
 * otherwise fails as a full disk would (counted, logged, the next one
 * tried). Another program filling the last 64 MiB within 100 ms is the gap left.
 */
class DiskRoom {
  private roomyUntilMs = 0;

  constructor(private readonly dir: string) {}

  ensure(updates: number): void {
    const nowMs = performance.now();
    if (nowMs < this.roomyUntilMs) return;
    const fsStats = fs.statfsSync(this.dir);
    const free = fsStats.bavail * fsStats.bsize;
    if (free >= ROOMY_BYTES) {
      this.roomyUntilMs = nowMs + ROOMY_RECHECK_MS;
      return;
    }
    const need = MARGIN_BYTES + updates * BYTES_PER_UPDATE;
    if (free < need) throw new Error(`No space left on device: ${free} bytes free on the store's filesystem, a commit may need ${need}`);
  }
}

/** A named database of raw bytes in `env` (created if missing; the caller holds a write transaction or none). */
export function openDb(env: StoreEnv, name: string): StoreDb {
  return env.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' });
}

/**
 * A stored value, cut to its real length: lmdb-js's fast read returns a
 * reused buffer whose real length is `length` (its byteLength is the whole
 * scratch area). Not a copy: the next read overwrites it, so decode it (or
 * Buffer.from it) before reading again.
 */
export function getBytes(db: StoreDb, key: Buffer, txn?: ReadTxn): Buffer | undefined {
  const fast = (db as unknown as FastGet).getBinaryFast(key, txn && { transaction: txn });
  return fast === undefined ? undefined : fast.subarray(0, fast.length);
}

export type ReadTxn = ReturnType<StoreEnv['useReadTransaction']>;

/**
 * A read transaction on the newest commit (any process's); done() it when
 * finished. lmdb-js otherwise hands out one shared snapshot until its next
 * timer tick, which could miss a commit a client has already seen answered.
 * A snapshot still in use elsewhere is left to its holder: lmdb-js keeps it
 * until its last done() and never renews it underneath.
 */
export function freshReadTxn(env: StoreEnv): ReadTxn {
  env.resetReadTxn();
  return env.useReadTransaction();
}
interface FastGet {
  getBinaryFast(key: Buffer, opts?: { transaction: ReadTxn }): Buffer | undefined;
}

/** Used bytes of the data file (its last page, LMDB's high-water mark) and the page size. */
export function usedBytes(env: StoreEnv): number {
  const stats = env.getStats() as { lastPageNumber: number; pageSize: number };
  return (stats.lastPageNumber + 1) * stats.pageSize;
}

/** An environment opened at its real directory, with the size it was given. */
export interface OpenedStore {
  env: StoreEnv;
  realDir: string;
  sizeBytes: number;
}

/**
 * Directories open in this process. LMDB must not open one environment
 * twice in a process: closing either copy drops the other's file locks.
 */
const openDirs = new Set<string>();

/** Creates `dir` if needed and opens its environment, once per process (see openDirs). */
export function openStoreDir(dir: string, opts: EnvOptions): OpenedStore {
  fs.mkdirSync(dir, { recursive: true });
  const realDir = fs.realpathSync(dir);
  if (openDirs.has(realDir)) throw new Error(`metric store ${realDir} is already open in this process`);
  const env = openEnvironment(realDir, opts);
  openDirs.add(realDir);
  return { env, realDir, sizeBytes: opts.mapSize };
}

/** Closes what openStoreDir opened; the directory may be opened again. */
export async function closeStoreDir(opened: OpenedStore): Promise<void> {
  openDirs.delete(opened.realDir);
  await closeEnvironment(opened.env);
}

/**
 * How a process that shares the store lets it go before it exits: flushed
 * to disk, not closed. LMDB's mdb_env_close, in the last process using an
 * environment, destroys the lock file's mutexes (pthread_mutex_destroy). A
 * process opening it at that moment waits for the closer's file lock, then
 * takes those mutexes for live ones, and every write transaction it begins
 * fails at once: EINVAL, which lmdb-js does not check ("No transaction to
 * renew"); a worker starting while the last old one exits. An exit
 * releases the file locks without touching the mutexes, and the next
 * process to open the store alone sets the lock file up afresh anyway.
 * The open gate (open-gate.ts) is an environment too: it is left the same
 * way, by the exit.
 */
export async function leaveEnvironment(env: StoreEnv): Promise<void> {
  await syncEnvironment(env);
}

/** Flushes committed data to disk (off the main thread). */
export function syncEnvironment(env: StoreEnv): Promise<void> {
  const e = env as unknown as { sync(done: (err?: Error) => void): void };
  return new Promise((resolve, reject) => e.sync((err) => (err ? reject(err) : resolve())));
}
