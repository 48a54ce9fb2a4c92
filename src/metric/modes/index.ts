import { ConfigError } from '../../config/errors';
import { averageExpMode, averageMeanMode } from './average';
import { histogramMode } from './histogram';
import { quantileMode } from './quantile';
import { countMode, gaugeMode, lastMode, maxMode, minMode } from './simple';
import type { ModeRow } from './types';

export type { ModeName, ModeRow } from './types';
export { dataBytes } from './types';

/** Every mode, in Angie's table order, then metricproxy's own. */
export const MODES: readonly ModeRow[] = [
  countMode,
  minMode,
  maxMode,
  lastMode,
  gaugeMode,
  averageMeanMode,
  averageExpMode,
  histogramMode,
  quantileMode,
];

export interface MetricSpec {
  mode: ModeRow;
  params: unknown;
}

/**
 * Reads `MODE [params...]` as written after a zone name or a sub-metric
 * name. Two-word modes (`average exp`) are two config tokens.
 */
export function parseMetricSpec(args: string[]): MetricSpec {
  if (args.length === 0) throw new ConfigError('missing value mode');
  for (const mode of MODES) {
    const words = mode.name.split(' ');
    if (words.every((word, i) => args[i] === word)) {
      return { mode, params: mode.parseParams(args.slice(words.length)) };
    }
  }
  throw new ConfigError(`unknown mode "${args[0]}"`);
}
