// Config text for the programs the benches start: the backend, nginx as a proxy, and metricproxy
// with 0, 4 or 16 metric directives (or a generated set, for the cost-growth bench).

/** A metric set: zone definitions (http level) and metric directives (location level). */
export function metricSet(zones, directives) {
  return { zones, directives };
}

export const NO_METRICS = metricSet([], []);

/** The 4-metric set: count by method, histogram of request time by URI, average by status, in-flight gauge. */
export const FOUR_METRICS = metricSet(
  [
    'metric_zone bench_methods:1m count;',
    'metric_zone bench_times:4m histogram 0.005 0.01 0.05 0.1 0.5 1 inf;',
    'metric_zone bench_status:1m average exp;',
    'metric_zone bench_inflight:1m gauge;',
  ],
  [
    'metric bench_methods $request_method;',
    'metric bench_times $uri=$request_time;',
    'metric bench_status $status=$request_time;',
    'metric bench_inflight all=1 on=request;',
    'metric bench_inflight all=-1 on=end;',
  ],
);

/** 4 zones of one mode, each updated by every request with $request_time (quantile vs histogram, issue 13). */
function fourOfMode(label, modeArgs) {
  const names = [1, 2, 3, 4].map((i) => `bench_${label}${i}`);
  return metricSet(
    names.map((n) => `metric_zone ${n}:4m ${modeArgs};`),
    names.map((n) => `metric ${n} $uri=$request_time;`),
  );
}
export const FOUR_HISTOGRAMS = fourOfMode('hist', 'histogram 0.005 0.01 0.05 0.1 0.5 1 inf');
export const FOUR_QUANTILES = fourOfMode('quant', 'quantile 0.5 0.95 0.99');

/** 16 metric directives over every mode and the usual keys. */
export const SIXTEEN_METRICS = metricSet(
  [
    ...FOUR_METRICS.zones,
    'metric_zone s_count_status:1m count;',
    'metric_zone s_count_host:1m count;',
    'metric_zone s_sum_bytes:1m gauge;',
    'metric_zone s_last:1m last;',
    'metric_zone s_min:1m min;',
    'metric_zone s_max:1m max;',
    'metric_zone s_mean:2m average mean count=64;',
    'metric_zone s_window:2m average mean window=10s;',
    'metric_zone s_hist_status:4m histogram 0.001 0.01 0.1 1;',
    'metric_complex_zone s_complex:2m { requests count; time average exp; slowest max; }',
    'metric_zone s_count_proto:1m count;',
  ],
  [
    ...FOUR_METRICS.directives,
    'metric s_count_status $status;',
    'metric s_count_host $host;',
    'metric s_sum_bytes $uri=$body_bytes_sent;',
    'metric s_last $uri=$request_time;',
    'metric s_min $uri=$request_time;',
    'metric s_max $uri=$request_time;',
    'metric s_mean $uri=$request_time;',
    'metric s_window $uri=$request_time;',
    'metric s_hist_status $status=$request_time;',
    'metric s_complex $uri=$request_time;',
    'metric s_count_proto $server_protocol on=response;',
  ],
);

/** `zoneCount` zones of `keyCount` distinct keys each: every request updates each zone once, key $uri. */
export function growthMetrics(zoneCount, zoneSize) {
  const zones = [];
  const directives = [];
  for (let i = 0; i < zoneCount; i++) {
    zones.push(`metric_zone g${i}:${zoneSize} count;`);
    directives.push(`metric g${i} $uri;`);
  }
  return metricSet(zones, directives);
}

/** `api` adds `location /status/ { api /status/; }` (read back what the run stored). */
export function metricproxyConf({ port, backendPort, workers = 1, metrics = NO_METRICS, api = false }) {
  return `
worker_processes ${workers};
error_log logs/error.log;
http {
  metric_store data;
  ${metrics.zones.join('\n  ')}
  upstream backend { server 127.0.0.1:${backendPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      ${metrics.directives.join('\n      ')}
    }
    ${api ? 'location /status/ { api /status/; }' : ''}
  }
}`;
}

/** The backend: nginx answering a short body from memory. */
export function backendHttp(port) {
  return `  server { listen 127.0.0.1:${port}; location / { return 200 "hello from the backend\\n"; } }`;
}

/** nginx as the reverse proxy: HTTP/1.1 to the upstream with a keep-alive pool. */
export function nginxProxyHttp(port, backendPort) {
  return `  upstream backend { server 127.0.0.1:${backendPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`;
}
