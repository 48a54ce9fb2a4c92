import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/process/load';
import type { HttpContext } from '../../../src/http/context';
import { findLocation } from '../../../src/http/locations';

const conf = `
http { server { listen 8080;
  location / { return 200 "root"; }
  location = / { return 200 "exact root"; }
  location /images/ { return 200 "images";
    location ~ \\.gif$ { return 200 "nested gif"; }
    location /images/big/ { return 200 "big"; }
  }
  location ^~ /static/ { return 200 "static noregex"; }
  location ~* \\.(PNG|jpg)$ { return 200 "ci regex"; }
  location ~ \\.png$ { return 200 "cs regex"; }
  location ~ ^/users/(\\d+)/(?<tab>[a-z]+)$ { return 200 "user"; }
  location /documents/ { return 200 "documents"; }
  location ~ ^/documents/(.*)\\.pdf$ { return 200 "pdf"; }
} }`;

const { runtime } = loadConfig('/t.conf', { prefix: '/tmp', text: conf });
const server = runtime.servers[0];

function pick(uri: string): { name: string; captures: string[] | null; named: Record<string, string> | null } {
  const r = { captures: null, namedCaptures: null } as unknown as HttpContext;
  const loc = findLocation(r, server.locations, uri);
  return { name: loc ? `${loc.modifier} ${loc.name}`.trim() : 'none', captures: r.captures, named: r.namedCaptures };
}

describe('nginx location selection', () => {
  it.each([
    ['/', '= /'],
    ['/index.html', '/'],
    ['/documents/a.txt', '/documents/'],
    ['/documents/a.pdf', '~ ^/documents/(.*)\\.pdf$'],
    ['/images/a.gif', '~ \\.gif$'],
    ['/images/a.jpg', '~* \\.(PNG|jpg)$'],
    ['/images/big/a.txt', '/images/big/'],
    ['/images/big/a.gif', '~ \\.gif$'],
    ['/static/a.png', '^~ /static/'],
    ['/x/a.PNG', '~* \\.(PNG|jpg)$'],
    ['/x/a.png', '~* \\.(PNG|jpg)$'],
  ])('%s → %s', (uri, expected) => {
    expect(pick(uri).name).toBe(expected);
  });

  it('sets numbered and named captures from the matching regex', () => {
    const p = pick('/users/42/posts');
    expect(p.name).toBe('~ ^/users/(\\d+)/(?<tab>[a-z]+)$');
    expect(p.captures?.[1]).toBe('42');
    expect(p.named).toEqual({ tab: 'posts' });
  });

  it('regexes are tried in file order: the first match wins', () => {
    // both `~* \.(PNG|jpg)$` and `~ \.png$` match /a.png; the earlier one is chosen
    expect(pick('/a.png').name).toBe('~* \\.(PNG|jpg)$');
  });
});
