import { describe, expect, it } from 'vitest';
import { apiTop } from '../../../src/api/answer';
import { ApiObjectNode, fromValue, ReadCtx, resettable, StaticObject } from '../../../src/api/tree';
import { apiTarget } from '../../../src/api/walk';
import { answerDelete, parseWrite } from '../../../src/api/write';
import { ConfigError } from '../../../src/config/errors';

/** A tree whose `zones` children can be reset; what was reset is recorded. */
function tree() {
  const reset: string[] = [];
  const data: Record<string, Record<string, number>> = { a: { n: 1 }, b: { n: 2 } };
  const zones = resettable(fromValue(data) as ApiObjectNode, (name) => {
    if (!(name in data)) return false;
    reset.push(name);
    return true;
  });
  const top = apiTop(new StaticObject().set('zones', zones).set('other', fromValue({ x: 1 })));
  const del = (path: string) => answerDelete(top, apiTarget(path, undefined), new ReadCtx(), false);
  return { reset, del };
}

describe('answerDelete', () => {
  it('resets a child of a node that allows it: 204, no body, what was reset named for the log', () => {
    const t = tree();
    expect(t.del('/status/zones/a')).toEqual({ status: 204, body: [], reset: '/status/zones/a' });
    expect(t.reset).toEqual(['a']);
  });

  it('404 for a path that does not exist, at any depth', () => {
    const t = tree();
    for (const p of ['/status/zones/c', '/status/nope/x', '/status/zones/a/n/deeper']) {
      const answer = t.del(p);
      expect(answer.status, p).toBe(404);
      expect(JSON.parse(Buffer.concat(answer.body).toString()).error).toBe('PathNotFound');
    }
    expect(t.reset).toEqual([]);
  });

  it('405 where nothing can be reset: the top, a branch, a leaf', () => {
    const t = tree();
    for (const p of ['/', '/status/', '/status/zones', '/status/zones/a/n', '/status/other/x']) {
      const answer = t.del(p);
      expect(answer.status, p).toBe(405);
      expect(JSON.parse(Buffer.concat(answer.body).toString())).toEqual({
        error: 'MethodNotAllowed',
        description: `The DELETE method is not allowed for the requested API entity "${p}".`,
      });
    }
    expect(t.reset).toEqual([]);
  });
});

describe('parseWrite', () => {
  it('write=on allows writes; write=off or nothing does not; anything else is a config error', () => {
    expect(parseWrite('write=on')).toBe(true);
    expect(parseWrite('write=off')).toBe(false);
    expect(parseWrite(undefined)).toBe(false);
    expect(() => parseWrite('write=yes')).toThrow(new ConfigError('invalid parameter "write=yes"'));
  });
});
