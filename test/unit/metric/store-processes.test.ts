import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, it, expect } from 'vitest';
import { MetricStore } from '../../../src/metric/store/lmdb-store';
import { buildMetricEngine, NODE_PATH } from './fixtures/build';
import { inlineZone, tempDir } from './helpers';

interface ZoneSpec {
  name: string;
  size: number;
  modeArgs: string[];
}

const build = tempDir();
beforeAll(() => buildMetricEngine(build.dir));
afterAll(() => build.cleanup());

/** A worker process with its own store handle on `storeDir`, opened for `zones`. */
async function startWorker(storeDir: string, zones: ZoneSpec[]): Promise<ChildProcess> {
  const child = fork(path.join(__dirname, 'fixtures/store-worker.js'), [build.dir, storeDir, JSON.stringify(zones)], {
    env: { ...process.env, NODE_PATH },
    execArgv: [],
  });
  await nextMessage(child);
  return child;
}

function nextMessage(child: ChildProcess): Promise<unknown> {
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

async function run(child: ChildProcess, zone: string, key: string, count: number): Promise<void> {
  const done = nextMessage(child);
  child.send({ cmd: 'run', zone, key, count });
  await done;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.send({ cmd: 'close' });
  });
}

describe('one store shared by several processes', () => {
  it('loses no update when workers write the same key concurrently', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const zone: ZoneSpec = { name: 'hits', size: 1 << 20, modeArgs: ['count'] };
      const workers = await Promise.all([1, 2, 3].map(() => startWorker(dir, [zone])));
      await Promise.all(workers.map((w) => run(w, 'hits', 'k', 5000)));
      await Promise.all(workers.map(stop));
      const store = MetricStore.open(dir, [inlineZone('hits', 1 << 20, ['count'])]);
      const reader = store.reader();
      expect(reader.get('hits', 'k')).toBe(15000);
      reader.close();
      store.close();
    } finally {
      cleanup();
    }
  });

  // lmdb-js on LMDB's read-only map failed here now and then (MDB_BAD_TXN "mdb_page_touch no
  // parent", or a segfault): in about one round of four; on the writable map, in none of 30.
  // Five rounds of four process starts: up to a minute on a loaded 2-core machine.
  // What the records hold afterwards is not asserted here: in about one suite run of five, one
  // writer's later commits were missing on reopen (README, Known limitations) — an open bug.
  it('four processes opening a new store at once, each rewriting its status record: no commit fails', async () => {
    const writer = path.join(__dirname, 'fixtures/records-writer.js');
    for (let round = 0; round < 5; round++) {
      const { dir, cleanup } = tempDir();
      try {
        const replies = await Promise.all([1, 2, 3, 4].map(() => {
          const child = fork(writer, [build.dir, dir, '1500'], { env: { ...process.env, NODE_PATH }, execArgv: [] });
          return new Promise((resolve) => {
            child.once('message', resolve);
            child.once('exit', (code, signal) => resolve({ exit: code ?? signal }));
          });
        }));
        expect(replies).toEqual([1, 2, 3, 4].map(() => ({ done: 1500 })));
      } finally {
        cleanup();
      }
    }
  }, 120_000);

  it('keeps a reloaded definition apart from workers still on the old one', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const oldWorker = await startWorker(dir, [{ name: 'z', size: 32768, modeArgs: ['count'] }]);
      const store = MetricStore.open(dir, [inlineZone('z', 65536, ['count'])]);
      const oldWrites = run(oldWorker, 'z', 'k', 1000);
      for (let i = 0; i < 1000; i++) store.applyBatch([{ zone: 'z', key: 'k', value: 1 }]);
      await oldWrites;
      await stop(oldWorker);
      const reader = store.reader();
      expect(reader.get('z', 'k')).toBe(1000);
      reader.close();
      store.close();
    } finally {
      cleanup();
    }
  });
});
