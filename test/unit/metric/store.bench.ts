// Micro-benchmark of the store's hot path (not a test):
//   npx vitest bench --run test/unit/metric/store.bench.ts
// µs per applyBatch = 1e6 / hz.
import { afterAll, bench, describe } from 'vitest';
import { MetricStore, type MetricUpdate } from '../../../src/metric/store/lmdb-store';
import { complexZone, inlineZone, tempDir } from './helpers';

const { dir, cleanup } = tempDir();
const store = MetricStore.open(dir, [
  inlineZone('hits', 1 << 20, ['count']),
  inlineZone('lat', 1 << 20, ['histogram', '0.05', '0.1', '0.3', '0.5', '1', '2', '5', '10', 'inf']),
  inlineZone('lru', 1 << 20, ['average', 'exp'], { expire: true }),
  complexZone('cx', 1 << 20, [['n', 'count'], ['max', 'max'], ['avg', 'average', 'mean']]),
]);
afterAll(() => {
  store.close();
  cleanup();
});

const one: MetricUpdate[] = [{ zone: 'hits', key: 'GET', value: 1 }];
const four: MetricUpdate[] = [
  { zone: 'hits', key: 'GET', value: 1 },
  { zone: 'lat', key: '127.0.0.1:8080', value: 0.042 },
  { zone: 'lru', key: '/api/users', value: 12 },
  { zone: 'cx', key: 'site1', value: 3.5 },
];

describe('applyBatch', () => {
  bench('1 update (count)', () => store.applyBatch(one));
  bench('4 updates (count, histogram, average exp expire=on, complex)', () => store.applyBatch(four));
  bench('reader: open, get 4 keys, close', () => {
    const r = store.reader();
    r.get('hits', 'GET');
    r.get('lat', '127.0.0.1:8080');
    r.get('lru', '/api/users');
    r.get('cx', 'site1');
    r.close();
  });
});
