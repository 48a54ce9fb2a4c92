/**
 * Enforcement of a key's throttle, exact across workers: in the same one
 * write transaction, the key's record is read and limit_conn's slots
 * (max_concurrency) or limit_req's leaky bucket (rate) are taken, so two
 * workers never admit more than the limit together.
 */
import { ComplexValue, VariableRegistry } from '../http/variables';
import { acquire, HeldSlot } from '../limit/conn-slots';
import { decide } from '../limit/req-decide';
import type { SharedZone } from '../limit/shared-zone';
import type { LimitSpace, LimitTxn } from '../limit/space';
import type { ThrottleZoneDef } from './config';
import { isActive, ThrottleRecords } from './record';

export type Verdict =
  | { kind: 'none' }
  | { kind: 'passed'; held: HeldSlot[] }
  | { kind: 'rejected'; retryAfter: number };

/** `nodelay`: a throttled rate never delays, it rejects (limit_req's NGX_MAX_INT_T_VALUE / 1000). */
const NO_DELAY = Number.MAX_SAFE_INTEGER;

/** One throttle zone's enforcement state: its records and the limit nodes it keeps per key. */
export class ThrottleEnforcer {
  readonly conns: SharedZone;
  readonly rates: SharedZone;

  constructor(
    readonly def: ThrottleZoneDef,
    readonly recs: ThrottleRecords,
    space: LimitSpace,
  ) {
    // limit_conn's and limit_req's nodes, in the throttle module's own space, named apart from its records.
    const key = ComplexValue.compile(`throttle ${def.name}`, new VariableRegistry(), def.file, def.line);
    this.conns = space.declare({ kind: 'limit_conn', name: `${def.name}/conns`, size: def.size, key, rate: 0 });
    this.rates = space.declare({ kind: 'limit_req', name: `${def.name}/rates`, size: def.size, key, rate: 0 });
  }

  /** The verdict for a request of `key`, decided in the shared write transaction. */
  decide(tx: LimitTxn, key: string, pid: number, now: number): Verdict {
    const rec = this.recs.get(tx.t, key);
    if (!isActive(rec, now)) return { kind: 'none' };
    const { maxConcurrency, rate } = rec.limit;
    if (maxConcurrency !== undefined) {
      const d = acquire(tx, [{ zone: this.conns, conn: maxConcurrency }], [key], pid);
      if ('held' in d) return { kind: 'passed', held: d.held };
      return this.reject(tx, 1);
    }
    const limit = { zone: this.rates, rate: rate ?? 0, burst: 0, delay: NO_DELAY };
    const d = decide(tx, [limit], [key], now);
    if (d.kind === 'passed' || d.kind === 'declined') return { kind: 'passed', held: [] };
    return this.reject(tx, Math.max(1, Math.ceil(1000 / (rate ?? 1000))));
  }

  private reject(tx: LimitTxn, retryAfter: number): Verdict {
    this.recs.count(tx.t, { rejected: 1 });
    return { kind: 'rejected', retryAfter };
  }
}
