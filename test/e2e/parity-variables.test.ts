import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Proxy, request, startOnFreePort } from '../helpers/proc';

// Issue 12 item 1: `$metric_NAME` reads as in Angie's ngx_http_metric_var_get_handler —
// the key remembered by the last set of $metric_NAME or $metric_NAME_key, "=", and that
// key's current state in the zone; not found when no key was set or the zone lacks it.

/** 230 distinct 39-byte keys in one request: a 32k zone with a discard key holds 221 of them. */
const FILL = Array.from({ length: 230 }, (_, i) => `set $metric_dk ${String(i).padStart(39, 'k')};`).join(' ');

let proxy: Proxy;
let port: number;
const body = async (p: string) => (await request(`http://127.0.0.1:${port}${p}`)).body;

beforeAll(async () => {
  ({ proxy, port } = await startOnFreePort(
    (p) => `
http {
  metric_zone var:128k count;
  metric_complex_zone cz:128k { c count; l last; }
  metric_complex_zone hz:128k { h histogram 1 2; n count; }
  metric_zone dk:32k discard_key=old count;
  server {
    listen 127.0.0.1:${p};
    location ~ ^/v/(.+)$ { set $metric_var $1; return 200 "$metric_var|$metric_var_key|$metric_var_value"; }
    location /w { set $metric_var_key a; set $metric_var_value 7; set $metric_var b=1; set $metric_var_key a; return 200 "$metric_var"; }
    location ~ ^/c/(.+)$ { set $metric_cz $1; return 200 "$metric_cz"; }
    location ~ ^/h/(.+)$ { set $metric_hz $1; return 200 "$metric_hz"; }
    location /fill { ${FILL} return 204; }
    location /old { set $metric_dk_key old; return 200 "[$metric_dk]"; }
    location /unset { return 200 "[$metric_var][$metric_var_key][$metric_var_value]"; }
    location ~ ^/missing/(.+)$ { set $metric_var_key $1; return 200 "[$metric_var][$metric_var_key][$metric_var_value]"; }
  }
}`,
  ));
});

afterAll(async () => proxy?.stop());

describe('$metric_NAME reads key=current state (the table of issue 12, in order)', () => {
  it('/v/a=5 → a=1|a|1', async () => expect(await body('/v/a=5')).toBe('a=1|a|1'));
  it('/v/a → a=2|a|2', async () => expect(await body('/v/a')).toBe('a=2|a|2'));
  it('/v/a==9 → a==1|a=|1 (the key is split at the last "=")', async () => expect(await body('/v/a==9')).toBe('a==1|a=|1'));
  it('/w → a=3 (the key set last wins, and its state is read)', async () => expect(await body('/w')).toBe('a=3'));
  it('/c/k=4 → k=1, 4 (complex: sub-metric states joined with ", ")', async () => expect(await body('/c/k=4')).toBe('k=1, 4'));
});

describe('other readings', () => {
  it('a histogram shows its bucket counts joined with spaces', async () => {
    expect(await body('/h/x=1.5')).toBe('x=0 1, 1');
  });

  it('no key set: every variable of the zone is not found (empty)', async () => {
    expect(await body('/unset')).toBe('[][][]');
  });

  it('the discard key reads as not found until something was discarded into it, then as its state', async () => {
    expect(await body('/old')).toBe('[]');
    expect((await request(`http://127.0.0.1:${port}/fill`)).status).toBe(204);
    expect(await body('/old')).toBe('[old=9]');
  });

  it('a key the zone does not hold: $metric_NAME and _value are not found, _key is what was set', async () => {
    expect(await body('/missing/nothere')).toBe('[][nothere][]');
  });
});
