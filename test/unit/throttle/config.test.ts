import { describe, expect, it } from 'vitest';
import { emerg, errorOf } from '../../helpers/config-errors';

const METRICS = 'metric_complex_zone load:1m { latency average exp factor=50; inflight gauge; }\nmetric_zone hits:1m count;';
/** A throttle_zone at line 4 (after the two metric zones); `body` lines start at line 5. */
const zone = (body: string) => `${METRICS}\nthrottle_zone t:1m {\n${body}\n}`;
const BASE = 'watch load/latency;\nabove 0.5;\nlimit max_concurrency=4;';

const CASES: Array<[string, string, string]> = [
  ['unknown watched zone', zone('watch nope/latency;\nabove 1;\nlimit max_concurrency=1;'), emerg('unknown metric zone "nope"', 5)],
  ['unknown sub-metric', zone('watch load/p99;\nabove 1;\nlimit max_concurrency=1;'), emerg('unknown metric "p99" in zone "load"', 5)],
  ['complex zone without metric', zone('watch load;\nabove 1;\nlimit max_concurrency=1;'), emerg('watch of complex zone "load" must name a metric: "load/METRIC"', 5)],
  ['watch too deep', zone('watch load/latency/x;'), emerg('invalid watch "load/latency/x", it must be ZONE or ZONE/METRIC', 5)],
  ['samples 0', zone(`${BASE}\nsamples 0;`), emerg('invalid samples "0"', 8)],
  ['interval 0', zone(`${BASE}\ninterval 0;`), emerg('invalid interval "0"', 8)],
  ['interval garbage', zone(`${BASE}\ninterval soon;`), emerg('invalid interval "soon"', 8)],
  ['above not a number', zone('watch load/latency;\nabove high;'), emerg('invalid above "high"', 6)],
  ['below >= above', zone(`${BASE}\nrecover below=0.5 samples=3;`), emerg('"recover" below=0.5 must be less than "above" 0.5', 4)],
  ['recover without below', zone(`${BASE}\nrecover samples=3;`), emerg('"recover" needs "below="', 8)],
  ['limit with both', zone('watch load/latency;\nabove 1;\nlimit max_concurrency=1 rate=1r/s;'), emerg('"limit" needs one of "max_concurrency=" or "rate="', 7)],
  ['limit 0', zone('watch load/latency;\nabove 1;\nlimit max_concurrency=0;'), emerg('invalid max_concurrency "0"', 7)],
  ['limit ttl 0', zone('watch load/latency;\nabove 1;\nlimit max_concurrency=1 ttl=0;'), emerg('invalid ttl "0"', 7)],
  ['bad rate', zone('watch load/latency;\nabove 1;\nlimit rate=0r/s;'), emerg('invalid rate "rate=0r/s"', 7)],
  ['unknown parameter', zone('watch load/latency;\nabove 1;\nlimit max_concurrency=1 burst=2;'), emerg('invalid parameter "burst=2"', 7)],
  ['status out of range', zone(`${BASE}\nstatus 200;`), emerg('value must be between 400 and 599', 8)],
  ['unknown sub-directive', zone(`${BASE}\nthreshold 3;`), emerg('unknown directive "threshold" in "throttle_zone"', 8)],
  ['duplicate sub-directive', zone(`${BASE}\nabove 2;`), emerg('"above" directive is duplicate', 8)],
  ['missing limit', zone('watch load/latency;\nabove 1;'), emerg('"throttle_zone" has no "limit"', 4)],
  ['bad alert URL', zone(`${BASE}\nalert https://am:9093/x;`), emerg('invalid alert URL "https://am:9093/x", it must be http://HOST:PORT', 8)],
  ['zone declared twice', `${zone(BASE)}\nthrottle_zone t:1m { ${BASE.replace(/\n/g, ' ')} }`, emerg('throttle_zone "t" is already declared', 9)],
  ['throttle of an unknown zone', 'server {\nlisten 127.0.0.1:8080;\nlocation / { throttle nope $arg_k; }\n}', emerg('unknown throttle zone "nope"', 4)],
  ['throttle_api of an unknown zone', 'server {\nlisten 127.0.0.1:8080;\nlocation /t/ { throttle_api nope; }\n}', emerg('unknown throttle zone "nope"', 4)],
  ['throttle_api in a regex location', `${zone(BASE)}\nserver {\nlisten 127.0.0.1:8080;\nlocation ~ /t/ { throttle_api t; }\n}`, emerg('"throttle_api" directive must be in a prefix location', 11)],
  ['throttle_zone in server', 'server {\nthrottle_zone t:1m { above 1; }\n}', emerg('"throttle_zone" directive is not allowed here', 3)],
];

describe('throttle config errors', () => {
  it.each(CASES)('%s', (_name, http, expected) => {
    expect(errorOf(http)).toBe(expected);
  });

  it('a full zone with every sub-directive loads', () => {
    const ok = zone(`${BASE}\nsamples 3;\ninterval 10s;\nrecover below=0.3 samples=3;\nexempt internal ops;\nstatus 429;\naudit_log logs/t.jsonl;\nalert http://127.0.0.1:9093;`);
    expect(errorOf(`${ok}\nserver {\nlisten 127.0.0.1:8080;\nlocation /api/ { throttle t $http_x_tenant; }\nlocation /throttle/ { throttle_api t; }\n}`)).toBe('ok');
  });
});
