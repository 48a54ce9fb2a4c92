import { describe, expect, it } from 'vitest';
import { answerApi, apiTop } from '../../../src/api/answer';
import { runNow, UNSLICED } from '../../../src/api/slices';
import { fromValue, ReadCtx } from '../../../src/api/tree';
import { apiTarget } from '../../../src/api/walk';

const status = fromValue({
  connections: { accepted: 3 },
  http: { metric_zones: { z: { discarded: 0, metrics: { 'a/b': 5, plain: 1 } } } },
});
const top = apiTop(status);
const ctx = new ReadCtx();

/** The answer with its body pieces joined. */
function get(prefix: string, rest: string, method = 'GET', pretty = false): { status: number; body: string } {
  const target = apiTarget(prefix, { raw: rest, decoded: decodeURIComponent(rest) });
  const answer = runNow(answerApi(top, method, target, ctx, pretty, UNSLICED));
  return { status: answer.status, body: answer.body.join('') };
}

describe('answerApi', () => {
  it('answers the node the prefix and URI rest address', () => {
    expect(get('/status/', '')).toEqual({ status: 200, body: JSON.stringify({ connections: { accepted: 3 }, http: JSON.parse(get('/status/', 'http').body) }) });
    expect(get('/status/http/metric_zones/', 'z/metrics/plain')).toEqual({ status: 200, body: '1' });
    expect(get('/', '')).toEqual({ status: 200, body: JSON.stringify({ status: JSON.parse(get('/status/', '').body) }) });
  });

  it('reaches a key holding "/" when it is percent-encoded', () => {
    expect(get('/status/http/metric_zones/', 'z/metrics/a%2Fb')).toEqual({ status: 200, body: '5' });
    expect(get('/status/http/metric_zones/', 'z/metrics/a/b').status).toBe(404);
  });

  it('answers 404 with the path as addressed', () => {
    expect(get('/status/', 'nope')).toEqual({
      status: 404,
      body: '{"error":"PathNotFound","description":"Requested API entity \\"/status/nope\\" doesn\'t exist."}',
    });
    const below = JSON.parse(get('/status/http/metric_zones/', 'x/').body) as { description: string };
    expect(below.description).toBe('Requested API entity "/status/http/metric_zones/x/" doesn\'t exist.');
  });

  it('answers 405 for methods other than GET and HEAD', () => {
    expect(get('/status/', '', 'POST')).toEqual({
      status: 405,
      body: '{"error":"MethodNotAllowed","description":"The POST method is not allowed for the requested API entity \\"/status/\\"."}',
    });
    expect(get('/status/', 'nope', 'DELETE').status).toBe(405);
    expect(get('/status/', '', 'HEAD').status).toBe(200);
  });

  it('keeps error bodies valid JSON whatever bytes the path holds', () => {
    const answer = runNow(answerApi(top, 'GET', apiTarget('/status/', { raw: '%22%5C%0A%FF', decoded: '"\\\n\xff' }), ctx, true, UNSLICED));
    expect(answer.status).toBe(404);
    const parsed = JSON.parse(answer.body.join('')) as { description: string };
    expect(parsed.description).toBe('Requested API entity "/status/"\\\n\ufffd" doesn\'t exist.');
  });
});
