/**
 * Limits and throttles across a fleet of instances through Redis/Valkey
 * (`sync=` on limit_req_zone, `sync` in throttle_zone; docs/fleet.md).
 * No directives of its own: it finds the synced zones the limit and
 * throttle modules declared, so it comes after them in MODULES.
 */
import type { Builder } from '../http/builder';
import { limitSpace } from '../limit/space';
import type { Module } from '../http/module';
import { throttleZones } from '../throttle/module';
import { FleetLease, type StoreRun } from './lease';
import { ReqSync } from './req-sync';
import { FleetRunner, type SyncJob } from './runner';
import { ThrottleSync } from './throttle-sync';

export function fleetModule(b: Builder): Module {
  let runner: FleetRunner | undefined;
  return {
    name: 'fleet',
    directives: [],
    postconfiguration() {
      const space = limitSpace(b);
      const reqs = space.zones('limit_req').filter((z) => z.def.sync !== undefined).map((z) => new ReqSync(z, space));
      const throttles = throttleZones(b).filter((z) => z.def.sync !== undefined);
      const jobs: SyncJob[] = [...reqs, ...throttles.map((z) => new ThrottleSync(z))];
      if (jobs.length === 0) return;
      // The lease lives in the limit database, reached through whichever space a synced zone uses.
      const write: StoreRun = reqs.length > 0 ? (body, fallback) => space.transact((tx) => body(tx.t), fallback) : (body, fallback) => throttles[0].transact(body, fallback);
      const read: StoreRun = reqs.length > 0 ? (body, fallback) => space.read(body, fallback) : (body, fallback) => throttles[0].read(body, fallback);
      const lease = new FleetLease(write, read);
      runner = new FleetRunner(jobs, lease);
    },
    initWorker() {
      runner?.start();
    },
    // Before the limit and throttle modules close their spaces: dropping the lease writes to the store.
    exitWorker() {
      runner?.stop();
    },
  };
}
