import { describe, expect, it } from 'vitest';
import { emerg, errorOf } from '../../helpers/config-errors';

const zone = 'limit_req_zone $binary_remote_addr zone=one:1m rate=10r/s;';
const conn = 'limit_conn_zone $binary_remote_addr zone=two:1m;';

// Each case: config (http body) → the one line nginx 1.22 prints for it (where nginx has one).
const CASES: Array<[string, string, string]> = [
  ['rate=0r/s', 'limit_req_zone $uri zone=a:1m rate=0r/s;', emerg('invalid rate "rate=0r/s"', 2)],
  ['rate=abc', 'limit_req_zone $uri zone=a:1m rate=abc;', emerg('invalid rate "rate=abc"', 2)],
  ['rate per hour', 'limit_req_zone $uri zone=a:1m rate=1r/h;', emerg('invalid rate "rate=1r/h"', 2)],
  ['fractional rate', 'limit_req_zone $uri zone=a:1m rate=1.5r/s;', emerg('invalid rate "rate=1.5r/s"', 2)],
  ['zone below the minimum', 'limit_req_zone $uri zone=a:1k rate=1r/s;', emerg('zone "zone=a:1k" is too small', 2)],
  ['conn zone below the minimum', 'limit_conn_zone $uri zone=a:16k;', emerg('zone "zone=a:16k" is too small', 2)],
  ['zone without size', 'limit_req_zone $uri zone=a rate=1r/s;', emerg('invalid zone size "zone=a"', 2)],
  ['zone missing', 'limit_req_zone $uri rate=1r/s burst=1;', emerg('invalid parameter "burst=1"', 2)],
  ['zone parameter missing', 'limit_req_zone $uri rate=1r/s rate=2r/s;', emerg('"limit_req_zone" must have "zone" parameter', 2)],
  ['burst=-1', `${zone}\nlimit_req zone=one burst=-1;`, emerg('invalid burst value "burst=-1"', 3)],
  ['burst=0', `${zone}\nlimit_req zone=one burst=0;`, emerg('invalid burst value "burst=0"', 3)],
  ['delay=0', `${zone}\nlimit_req zone=one delay=0;`, emerg('invalid delay value "delay=0"', 3)],
  ['delay with nodelay', `${zone}\nlimit_req zone=one nodelay delay=3;`, emerg('"nodelay" and "delay=3" cannot be used together', 3)],
  ['unknown limit_req parameter', `${zone}\nlimit_req zone=one fast;`, emerg('invalid parameter "fast"', 3)],
  ['unknown zone', 'server {\nlisten 127.0.0.1:8080;\nlocation / { limit_req zone=nope; }\n}', emerg('zero size shared memory zone "nope"', 4)],
  ['unknown conn zone', 'limit_conn nope 1;', emerg('zero size shared memory zone "nope"', 2)],
  ['zone of the other kind', `${conn}\nlimit_req zone=two;`, emerg('the shared memory zone "two" is already declared for a different use', 3)],
  ['name taken by the other kind', `${zone}\nlimit_conn_zone $uri zone=one:1m;`, emerg('the shared memory zone "one" is already declared for a different use', 3)],
  ['zone declared twice', `${zone}\nlimit_req_zone $uri zone=one:1m rate=1r/s;`, emerg('limit_req_zone "one" is already bound to key "$binary_remote_addr"', 3)],
  ['limit_req twice on a zone', `${zone}\nlimit_req zone=one;\nlimit_req zone=one;`, emerg('"limit_req" directive is duplicate', 4)],
  ['limit_conn 0', `${conn}\nlimit_conn two 0;`, emerg('invalid number of connections "0"', 3)],
  ['limit_conn x', `${conn}\nlimit_conn two x;`, emerg('invalid number of connections "x"', 3)],
  ['limit_conn too many', `${conn}\nlimit_conn two 65536;`, emerg('connection limit must be less 65536', 3)],
  ['status out of range', 'limit_req_status 600;', emerg('value must be between 400 and 599', 2)],
  ['status not a number', 'limit_conn_status abc;', emerg('"limit_conn_status" directive invalid number', 2)],
  ['log level', 'limit_req_log_level debug;', emerg('invalid value "debug"', 2)],
  ['dry run flag', 'limit_conn_dry_run maybe;', emerg('invalid value "maybe" in "limit_conn_dry_run" directive, it must be "on" or "off"', 2)],
  ['zone in server', 'server {\nlimit_req_zone $uri zone=a:1m rate=1r/s;\n}', emerg('"limit_req_zone" directive is not allowed here', 3)],
];

describe('limit_req / limit_conn config errors, one line each as nginx', () => {
  it.each(CASES)('%s', (_name, http, line) => {
    expect(errorOf(http)).toBe(line);
    expect(line.split('\n')).toHaveLength(1);
  });

  it('accepts what nginx accepts: zones used before they are declared, several limits, rates per minute', () => {
    const ok = [
      'server {\nlisten 127.0.0.1:8080;\nlocation / { limit_req zone=a burst=5 nodelay; limit_req zone=b delay=2 burst=3; limit_conn c 10; }\n}',
      'limit_req_zone $binary_remote_addr zone=a:1m rate=30r/m;',
      'limit_req_zone $http_x_api_key zone=b:32k rate=5;',
      'limit_conn_zone $server_name zone=c:1m;',
      'limit_req_status 429; limit_req_log_level warn; limit_req_dry_run on; limit_conn_status 503; limit_conn_log_level info; limit_conn_dry_run off;',
    ].join('\n');
    expect(errorOf(ok)).toBe('ok');
  });
});
