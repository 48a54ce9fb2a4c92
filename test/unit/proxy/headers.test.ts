import { describe, expect, it } from 'vitest';
import type { HttpContext } from '../../../src/http/context';
import { ComplexValue, VariableRegistry } from '../../../src/http/variables';
import { HeaderSetting, headerPlan, responseHead, upgradeRequestHeaders, upstreamRequestHeaders } from '../../../src/proxy/headers';

const vars = new VariableRegistry();
vars.define('who', () => 'proxy');

function setting(name: string, value: string): HeaderSetting {
  return { name, lname: name.toLowerCase(), value: ComplexValue.compile(value, vars, 't', 1) };
}

function ctx(rawHeaders: string[], headers: Record<string, string> = {}): HttpContext {
  return { req: { rawHeaders, headers } } as unknown as HttpContext;
}

describe('upstream request headers', () => {
  const plan = headerPlan([setting('Host', 'backend'), setting('X-Who', '$who'), setting('X-Gone', ''), setting('Connection', 'upgrade')]);

  it('puts configured headers first, drops empty ones and the hop-by-hop set, keeps the rest of the client', () => {
    const r = ctx(['Host', 'client.test', 'X-Gone', 'secret', 'Connection', 'keep-alive', 'Keep-Alive', '5', 'TE', 'trailers',
      'Content-Length', '3', 'X-Who', 'client', 'Accept', '*/*', 'Cookie', 'a=1', 'Cookie', 'b=2']);
    expect(upstreamRequestHeaders(r, plan)).toEqual(['Host', 'backend', 'X-Who', 'proxy', 'Content-Length', '3', 'Accept', '*/*', 'Cookie', 'a=1', 'Cookie', 'b=2']);
  });

  it('adds the upgrade pair for a WebSocket handshake', () => {
    const r = ctx(['Upgrade', 'websocket', 'Connection', 'Upgrade', 'Sec-WebSocket-Key', 'k'], { upgrade: 'websocket' });
    expect(upgradeRequestHeaders(r, plan)).toEqual({
      Host: 'backend', 'X-Who': 'proxy', 'Sec-WebSocket-Key': 'k', connection: 'upgrade', upgrade: 'websocket',
    });
  });
});

describe('response head', () => {
  const raw = ['Content-Type', 'text/plain', 'Server', 'b', 'Date', 'x', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'X-Accel-Redirect', '/i',
    'Connection', 'keep-alive', 'Transfer-Encoding', 'chunked', 'Upgrade', 'websocket'].map((s) => Buffer.from(s, 'latin1'));

  it('hides what nginx hides and joins repeated headers into arrays', () => {
    const head = responseHead(raw, 'OK');
    expect(head.client).toEqual({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
    expect(head.all.server).toBe('b');
    expect(head.all['x-accel-redirect']).toBe('/i');
  });

  it('keeps Connection and Upgrade on a 101', () => {
    const head = responseHead(raw, 'Switching Protocols', true);
    expect(head.client.connection).toBe('keep-alive');
    expect(head.client.upgrade).toBe('websocket');
    expect(head.client['transfer-encoding']).toBeUndefined();
  });

  it('counts the head size as it came on the wire', () => {
    const one = responseHead([Buffer.from('A'), Buffer.from('b')], 'OK');
    expect(one.size).toBe('HTTP/1.1 200 OK\r\n'.length + 'A: b\r\n'.length + 2);
  });
});
