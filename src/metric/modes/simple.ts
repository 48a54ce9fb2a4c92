import { ConfigError } from '../../config/errors';
import { formatNumber } from '../value';
import type { ModeName, ModeRow } from './types';

/**
 * The one-double modes: count, gauge, last, min, max. They differ only in
 * their initial value and in how a new value (or an evicted key's state)
 * combines with the stored one.
 */
interface OneSlotRule {
  name: ModeName;
  initial: number;
  combine(stored: number, v: number): number;
  /** How an evicted key's state folds into the discard key's. */
  fold(discard: number, evicted: number): number;
}

function noParams(args: string[]): null {
  if (args.length > 0) throw new ConfigError(`unknown parameter "${args[0]}"`);
  return null;
}

function oneSlotMode(rule: OneSlotRule): ModeRow<null> {
  return {
    name: rule.name,
    parseParams: noParams,
    slots: () => 1,
    items: () => [8],
    init(st, off) {
      st[off] = rule.initial;
    },
    update(st, off, _p, v) {
      st[off] = rule.combine(st[off], v);
    },
    merge(into, intoOff, from, fromOff) {
      into[intoOff] = rule.fold(into[intoOff], from[fromOff]);
    },
    read: (st, off) => st[off],
    text: (st, off) => formatNumber(st[off]),
    fingerprint: () => '',
  };
}

const add = (a: number, b: number): number => a + b;
const replace = (_a: number, b: number): number => b;
// Written as comparisons, not Math.min/max, so a NaN value leaves the state
// untouched exactly as Angie's `if (*data > value)` does.
const lower = (a: number, b: number): number => (a > b ? b : a);
const higher = (a: number, b: number): number => (a < b ? b : a);

export const countMode = oneSlotMode({ name: 'count', initial: 0, combine: (n) => n + 1, fold: add });
export const gaugeMode = oneSlotMode({ name: 'gauge', initial: 0, combine: add, fold: add });
export const lastMode = oneSlotMode({ name: 'last', initial: 0, combine: replace, fold: replace });
/** Angie seeds min/max with ±DBL_MAX, which the first update always replaces. */
export const minMode = oneSlotMode({ name: 'min', initial: Number.MAX_VALUE, combine: lower, fold: lower });
export const maxMode = oneSlotMode({ name: 'max', initial: -Number.MAX_VALUE, combine: higher, fold: higher });
