import { describe, expect, it } from 'vitest';
import { markReset, parseBaseline, subtractResets } from '../../../src/status/reset';
import { emptyCounts, emptyPeer, emptyZone, record, StatusCounts } from '../../../src/status/snapshot';

function totals(requests: number, codes: Record<string, number>, selected: number): StatusCounts {
  const c = emptyCounts();
  c.serverZones.s = { ...emptyZone(), requests, processing: 2, responses: Object.assign(record<number>(), codes), received: requests * 10, sent: requests * 20 };
  c.serverZones.other = { ...emptyZone(), requests };
  c.peers.up = record();
  c.peers.up['10.0.0.1:80'] = { ...emptyPeer(), selected, current: 1, fails: 1, responses: Object.assign(record<number>(), codes), state: 'unavailable', headerTime: 7 };
  return c;
}

/** As the board does it: the baseline goes through its JSON form. */
const roundTrip = (c: StatusCounts) => parseBaseline(JSON.stringify(c));

describe('status resets (baseline subtracted by readers)', () => {
  it('a zone shows what was counted since its reset; gauges and other zones are untouched', () => {
    const baseline = roundTrip(markReset(undefined, totals(10, { '200': 8, '404': 2 }, 0), 'serverZones', 's'));
    const shown = subtractResets(totals(13, { '200': 11, '404': 2 }, 0), baseline);
    expect(shown.serverZones.s).toEqual({ requests: 3, processing: 2, discarded: 0, responses: { '200': 3 }, received: 30, sent: 60 });
    expect(shown.serverZones.other.requests).toBe(13);
  });

  it('an upstream: every peer\'s counters, not its state, current or times', () => {
    const baseline = roundTrip(markReset(undefined, totals(0, { '200': 4 }, 4), 'peers', 'up'));
    const peer = subtractResets(totals(0, { '200': 5 }, 5), baseline).peers.up['10.0.0.1:80'];
    expect(peer).toMatchObject({ selected: 1, current: 1, fails: 0, responses: { '200': 1 }, state: 'unavailable', headerTime: 7 });
  });

  it('resets accumulate in one baseline; a name like __proto__ is just a name', () => {
    const sum = totals(5, {}, 0);
    sum.locationZones['__proto__'] = { ...emptyZone(), requests: 4 };
    let baseline = roundTrip(markReset(undefined, sum, 'serverZones', 's'));
    baseline = roundTrip(markReset(baseline, sum, 'locationZones', '__proto__'));
    const shown = subtractResets(sum, baseline);
    expect(shown.serverZones.s.requests).toBe(0);
    expect(shown.locationZones['__proto__'].requests).toBe(0);
    expect(Object.getPrototypeOf(baseline.locationZones)).toBeNull();
  });
});
