// limit_req's decision over the real store, without HTTP, for bench/limit-flood.mjs and
// bench/limit-commit.mjs: a zone, its store database, and one write transaction per batch of
// checks, as the limit_req module makes them (src/limit/space.ts).
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { DIST } from './lib.mjs';

const require = createRequire(import.meta.url);
const { KvDatabase } = require(path.join(DIST, 'store/kv.js'));
const { ComplexValue, VariableRegistry } = require(path.join(DIST, 'http/variables.js'));
const { SharedZone } = require(path.join(DIST, 'limit/shared-zone.js'));
const { LimitTxn } = require(path.join(DIST, 'limit/space.js'));
const { decide } = require(path.join(DIST, 'limit/req-decide.js'));

/** A limit_req zone keyed by `keySource` in the store `holder` ({ env }) has open, and one `limit_req` of it. */
export function limitReqZone(holder, { name, size, keySource, rate, burst = 0, delay = 0 }) {
  const db = KvDatabase.open(holder, 'limit');
  const key = ComplexValue.compile(keySource, new VariableRegistry(), 'bench', 1);
  const zone = new SharedZone({ kind: 'limit_req', name, size, key, rate });
  db.write((t) => zone.adopt(t));
  const limits = [{ zone, rate, burst, delay }];
  return {
    db,
    zone,
    /** Decides `keys` in turn in one write transaction, as a worker decides one loop turn's checks; their kinds. */
    decideAll(keys, now) {
      return db.write((t) => {
        const tx = new LimitTxn(t);
        const kinds = keys.map((k) => decide(tx, limits, [k], now).kind);
        tx.commitMetas();
        return kinds;
      });
    },
  };
}
