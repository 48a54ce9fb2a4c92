/**
 * Throttle states across the fleet: every sync period the syncing worker
 * pushes the records this instance changed (a sampler's trigger, an
 * operator's PATCH or DELETE) and takes every record of the zone back
 * from Redis; the newest change of a key wins (its start or end time,
 * then its version), on every instance, within one interval.
 */
import type Redis from 'ioredis';
import type { KeyRecord } from '../throttle/record';
import type { ThrottleZone } from '../throttle/zone-runtime';
import type { SyncJob } from './runner';
import { INSTANCE_ID, redisKey, runScript } from './redis';
import { heartbeatTtl } from './req-sync';
import { THROTTLE_SYNC } from './scripts';
import { SyncStatus } from './status';

/** When a record last changed state: its end, else its start (instances' wall clocks). */
function changedAt(rec: KeyRecord): number {
  return rec.ended !== 0 ? rec.ended : rec.since;
}

/** Whether `a` is a later change of the key than `b`. */
export function isNewer(a: KeyRecord, b: KeyRecord): boolean {
  return changedAt(a) !== changedAt(b) ? changedAt(a) > changedAt(b) : a.version > b.version;
}

export class ThrottleSync implements SyncJob {
  readonly status: SyncStatus;
  private readonly keys: string[];
  /** Each key's record as the fleet last agreed on it: anything else found locally is a local change. */
  private readonly agreed = new Map<string, string>();

  constructor(private readonly zone: ThrottleZone) {
    const def = zone.def;
    this.status = new SyncStatus(`throttle zone "${def.name}"`, def.sync!, () => 'states set here apply only here until it returns');
    this.keys = ['r', 'i'].map((part) => redisKey('throttle', def.name, part));
    zone.statusExtra = (t) => this.status.read(t);
  }

  get target() {
    return this.status.target;
  }

  /**
   * Half the interval: a state pushed by one instance at its exchange is
   * taken by the others at theirs, so it holds everywhere within one
   * interval (plus the round trips). Records are few: it costs little.
   */
  get periodMs(): number {
    return this.target.intervalMs / 2;
  }

  async sync(client: Redis): Promise<void> {
    const local = this.zone.read((t) => {
      this.status.resume(t);
      return this.zone.recs.all(t);
    }, []);
    const changed = local.filter(([key, rec]) => this.agreed.get(key) !== JSON.stringify(rec));
    const pairs = changed.flatMap(([key, rec]) => [key, JSON.stringify({ ...rec, changed: changedAt(rec) })]);
    let reply: unknown[];
    try {
      reply = await runScript(client, THROTTLE_SYNC, this.keys, [INSTANCE_ID, heartbeatTtl(this.target.intervalMs), ...pairs]);
    } catch (e) {
      this.status.failed(e);
      this.zone.transact((t) => this.status.save(t), undefined);
      throw e;
    }
    this.status.synced(Number(reply[1]));
    this.zone.transact((t) => {
      this.agreed.clear();
      for (let i = 2; i < reply.length; i += 2) {
        const key = String(reply[i]);
        const { changed: _, ...remote } = JSON.parse(String(reply[i + 1])) as KeyRecord & { changed: number };
        const mine = this.zone.recs.get(t, key);
        if (mine === undefined || isNewer(remote, mine)) this.zone.recs.put(t, key, remote);
        // A later local change stays unagreed, so the next period pushes it.
        this.agreed.set(key, JSON.stringify(remote));
      }
      this.status.save(t);
    }, undefined);
  }
}
