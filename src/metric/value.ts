/**
 * How metric state reads out: numbers, and ordered maps for histograms and
 * complex keys. Maps, not plain objects, because JS objects list
 * integer-like keys ("1", "10") before all others, while Angie prints
 * buckets ascending and sub-metrics in declaration order. null: a quantile
 * with no value yet.
 */
export type MetricValue = number | null | ReadonlyMap<string, MetricValue>;

/**
 * A number as Angie's ngx_dtoa prints it: 15 significant digits, no
 * trailing zeros (so 30.159999999999997 shows 30.16). Infinities and NaN
 * print as C's printf does.
 */
export function formatNumber(x: number): string {
  if (Number.isFinite(x)) return String(Number(x.toPrecision(15)));
  if (Number.isNaN(x)) return 'nan';
  return x > 0 ? 'inf' : '-inf';
}
