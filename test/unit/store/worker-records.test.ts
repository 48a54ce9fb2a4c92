import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RETIRED, WorkerRecords } from '../../../src/store/worker-records';
import { closeEnvironment, openEnvironment, type StoreEnv } from '../../../src/store/environment';
import { FLUSH_EVERY_MS, HEARTBEAT_MS, StatusBoard } from '../../../src/status/board';
import { emptyCounts, StatusCounts, StatusRecord } from '../../../src/status/snapshot';

let dir: string;
let env: StoreEnv;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-records-'));
  env = openEnvironment(dir, { mapSize: 1 << 26, maxDbs: 4 });
});

afterEach(async () => {
  await closeEnvironment(env);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('WorkerRecords', () => {
  it('keeps one record per worker and kind, and lists only its own instance', () => {
    const w1 = WorkerRecords.open(env, 10, 101);
    const w2 = WorkerRecords.open(env, 10, 102);
    const other = WorkerRecords.open(env, 11, 201);
    w1.put('status', '"a"');
    w1.put('status', '"a2"');
    w2.put('status', '"b"');
    w2.put('process', '"p"');
    other.put('status', '"x"');
    expect([...w1.all('status')]).toEqual([
      [101, '"a2"'],
      [102, '"b"'],
    ]);
    expect([...w1.all('process')]).toEqual([[102, '"p"']]);
    expect([...other.all('status')]).toEqual([[201, '"x"']]);
  });

  it('retires a worker: folds into the retired record and deletes all its records in one go', () => {
    const w1 = WorkerRecords.open(env, 10, 101);
    const w2 = WorkerRecords.open(env, 10, 102);
    w1.put('status', '1');
    w1.put('process', '"p"');
    w2.put('status', '2');
    const seen: Array<string | undefined> = [];
    w1.retire('status', (retired) => {
      seen.push(retired);
      return '5';
    });
    w2.retire('status', (retired) => {
      seen.push(retired);
      return String(Number(retired) + 2);
    });
    expect(seen).toEqual([undefined, '5']);
    expect([...w1.all('status')]).toEqual([[RETIRED, '7']]);
    expect(w1.all('process').size).toBe(0);
  });

  it('prunes the records of instances whose master is gone, and only those', () => {
    WorkerRecords.open(env, 20, 1).put('status', '"dead"');
    WorkerRecords.open(env, 30, 1).put('status', '"alive"');
    const mine = WorkerRecords.open(env, 10, 1);
    mine.put('status', '"mine"');
    const asked: number[] = [];
    mine.prune((instance) => {
      asked.push(instance);
      return instance === 30;
    });
    expect(asked).toEqual([20, 30]);
    expect(WorkerRecords.open(env, 20, 2).all('status').size).toBe(0);
    expect(WorkerRecords.open(env, 30, 2).all('status').size).toBe(1);
    expect(mine.all('status').size).toBe(1);
  });
});

function countsWith(accepted: number, active: number): StatusCounts {
  const c = emptyCounts();
  c.connections = { accepted, dropped: 0, active, idle: 0 };
  return c;
}

describe('StatusBoard', () => {
  it('sums its own exact counts with what other workers wrote', () => {
    let mine = countsWith(1, 1);
    const board = new StatusBoard(() => mine);
    board.open(WorkerRecords.open(env, 10, 101));
    const now = Date.now();
    WorkerRecords.open(env, 10, 102).put('status', JSON.stringify({ beat: now, counts: countsWith(5, 2) }));
    mine = countsWith(3, 4);
    expect(board.read(now).connections).toEqual({ accepted: 8, dropped: 0, active: 6, idle: 0 });
    board.close();
  });

  it('skips an unchanged snapshot until the heartbeat is due', () => {
    const records = WorkerRecords.open(env, 10, 101);
    let mine = countsWith(1, 0);
    const board = new StatusBoard(() => mine);
    board.open(records);
    const beatOf = () => (JSON.parse(records.all('status').get(101)!) as StatusRecord).beat;
    const opened = beatOf();
    board.flush(opened + HEARTBEAT_MS - 1);
    expect(beatOf()).toBe(opened);
    mine = countsWith(2, 0);
    board.flush(opened + 1);
    expect(beatOf()).toBe(opened + 1);
    board.flush(opened + 1 + HEARTBEAT_MS);
    expect(beatOf()).toBe(opened + 1 + HEARTBEAT_MS);
    board.close();
  });

  it('writes on its own timer', async () => {
    const records = WorkerRecords.open(env, 10, 101);
    let mine = countsWith(1, 0);
    const board = new StatusBoard(() => mine);
    board.open(records);
    mine = countsWith(9, 0);
    await new Promise((r) => setTimeout(r, 3 * FLUSH_EVERY_MS));
    const stored = JSON.parse(records.all('status').get(101)!) as StatusRecord;
    expect(stored.counts.connections.accepted).toBe(9);
    board.close();
  });

  it('on close moves its cumulative counts into the retired record', () => {
    const records = WorkerRecords.open(env, 10, 101);
    const board = new StatusBoard(() => countsWith(4, 3));
    board.open(records);
    board.close();
    const all = records.all('status');
    expect([...all.keys()]).toEqual([RETIRED]);
    const retired = JSON.parse(all.get(RETIRED)!) as StatusRecord;
    expect(retired.beat).toBe(0);
    expect(retired.counts.connections).toEqual({ accepted: 4, dropped: 0, active: 0, idle: 0 });
  });
});
