/**
 * One throttle zone in a worker: its records, enforcer, sampler, audit log
 * and alerting, sharing the throttle module's store space.
 */
import type { Runtime } from '../http/runtime';
import type { MetricEngine } from '../metric/engine';
import type { KvTxn } from '../store/kv';
import type { LimitSpace } from '../limit/space';
import { alertFor, deliver } from './alert';
import { AuditLog } from './audit';
import { ruleText, type ThrottleZoneDef } from './config';
import { ThrottleEnforcer } from './enforce';
import { ThrottleRecords } from './record';
import { Sampler } from './sampler';
import { setAlertState, Transition } from './transitions';

export class ThrottleZone {
  readonly recs: ThrottleRecords;
  readonly enforcer: ThrottleEnforcer;
  readonly sampler: Sampler;
  private audit: AuditLog | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Set when the zone syncs with the fleet: its `sync` branch of the status tree. */
  statusExtra?: (t: KvTxn) => Record<string, unknown>;

  constructor(
    readonly def: ThrottleZoneDef,
    private readonly space: LimitSpace,
  ) {
    this.recs = new ThrottleRecords(def.name);
    this.enforcer = new ThrottleEnforcer(def, this.recs, space);
    this.sampler = new Sampler(def, this.recs, (body, fallback) => this.transact(body, fallback));
  }

  /** One write transaction of the shared store; `fallback` when it cannot be written. */
  transact<T>(body: (t: KvTxn) => T, fallback: T): T {
    return this.space.transact((tx) => body(tx.t), fallback);
  }

  /** A snapshot of the shared store (the API's and status' reads); `fallback` when it cannot be read. */
  read<T>(body: (t: KvTxn) => T, fallback: T): T {
    return this.space.read(body, fallback);
  }

  /** Writes the audit lines of committed transitions and sends their alerts. */
  announce(transitions: readonly Transition[]): void {
    this.audit?.write(transitions);
    const url = this.def.alert;
    if (url === undefined) return;
    for (const tr of transitions) {
      const alert = alertFor(tr, ruleText(this.def), Date.now());
      if (alert !== undefined) void deliver(url, alert).then((d) => this.alerted(tr, d.outcome, d.error));
    }
  }

  private alerted(tr: Transition, outcome: 'FIRING' | 'RESOLVED' | 'FAILED', error: string | undefined): void {
    if (outcome === 'FAILED') process.emitWarning(`throttle zone "${this.def.name}": alert for key "${tr.key}" not delivered: ${error}`, 'error');
    if (tr.to === 'ALERTED') {
      if (outcome === 'FAILED') this.transact((t) => this.recs.count(t, { alerts_failed: 1 }), undefined);
      return;
    }
    this.transact((t) => setAlertState(t, this.recs, tr.key, outcome), undefined);
  }

  /** In a worker, once the store is open: the sampler's timer, the audit log and its reopen. */
  start(rt: Runtime, engine: MetricEngine): void {
    if (this.def.auditLog !== undefined) this.audit = new AuditLog(rt.resolve(this.def.auditLog));
    this.timer = setInterval(() => this.announce(this.sampler.tick(engine.store)), this.def.intervalMs);
    this.timer.unref();
    process.on('message', this.onMessage);
  }

  /** When the worker stops, before the space closes: what start began. */
  stop(): void {
    clearInterval(this.timer);
    process.off('message', this.onMessage);
    this.sampler.dropLease();
    this.audit?.close();
  }

  private readonly onMessage = (msg: unknown): void => {
    if ((msg as { type?: string } | null)?.type === 'reopen') this.audit?.reopen();
  };
}
