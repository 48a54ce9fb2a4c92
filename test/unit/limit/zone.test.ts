import { describe, expect, it } from 'vitest';
import { delayFor, elapsedMs, excessAfter } from '../../../src/limit/req-bucket';
import { nodeBytes, parseRate, slabSlot, zoneCapacity } from '../../../src/limit/zone';
import type { SharedZone } from '../../../src/limit/shared-zone';

const limit = (rate: number, delay: number) => ({ zone: undefined as unknown as SharedZone, rate, burst: 0, delay });

describe("nginx's leaky-bucket arithmetic", () => {
  it('keeps rates in thousandths of a request per second, with integer division', () => {
    expect(parseRate('rate=10r/s')).toBe(10000);
    expect(parseRate('rate=30r/m')).toBe(500);
    expect(parseRate('rate=1r/m')).toBe(16);
    expect(parseRate('rate=7')).toBe(7000);
  });

  it('drains rate*ms/1000 (floored) and adds one request; never below zero', () => {
    expect(excessAfter(0, 10000, 0)).toBe(1000);
    expect(excessAfter(3000, 10000, 150)).toBe(2500);
    expect(excessAfter(1000, 16, 1000)).toBe(1984);
    expect(excessAfter(500, 10000, 10_000)).toBe(0);
  });

  it('clamps clock jumps as nginx: back by over a minute is 1 ms, back by less is 0', () => {
    expect(elapsedMs(100_000, 200_000)).toBe(1);
    expect(elapsedMs(100_000, 130_000)).toBe(0);
    expect(elapsedMs(200, 100)).toBe(100);
  });

  it('delays by (excess - delay) * 1000 / rate whole milliseconds', () => {
    expect(delayFor(1000, limit(5000, 0))).toBe(200);
    expect(delayFor(2999, limit(10000, 2000))).toBe(99);
    expect(delayFor(2000, limit(10000, 2000))).toBe(0);
  });
});

describe('zone capacity as nginx slab slots', () => {
  it('rounds nodes up to power-of-two slots', () => {
    expect(slabSlot(81)).toBe(128);
    expect(slabSlot(8)).toBe(8);
    expect(slabSlot(3000)).toBe(4096);
    expect(nodeBytes('limit_req', 16)).toBe(128);
    expect(nodeBytes('limit_conn', 4)).toBe(64);
  });

  it('holds about 16 thousand 64-byte states per megabyte for limit_conn, 8 thousand 128-byte for limit_req', () => {
    expect(Math.floor(zoneCapacity(1024 * 1024) / 64)).toBeGreaterThan(15_000);
    expect(Math.floor(zoneCapacity(1024 * 1024) / 128)).toBeGreaterThan(7_900);
    expect(Math.floor(zoneCapacity(32 * 1024) / 128)).toBe(222);
  });
});
