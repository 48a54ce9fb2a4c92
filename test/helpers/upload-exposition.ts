/**
 * The docs' "upload" example after six uploads (16384, 64448, 64, 1028,
 * 1028, 1 bytes): the exact Prometheus exposition of its `upload_metric`
 * template, as the e2e example serves it and the unit renderer produces it.
 */
export const UPLOAD_EXPOSITION = [
  '# Angie Prometheus template "upload_metric"',
  '# TYPE stats histogram',
  'stats{le="64"} 2',
  'stats{le="256"} 2',
  'stats{le="1024"} 2',
  'stats{le="4096"} 4',
  'stats{le="16384"} 5',
  'stats{le="+Inf"} 6',
  'stats_sum 82953',
  'stats_count 6',
  'avg_size 108.69376',
  '',
].join('\n');
