import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors';
import { loadConfig } from '../../../src/process/load';
import { grammarConfig, mutate, mutation } from '../../helpers/config-grammar';
import { ROOT } from '../../helpers/proc';

/**
 * Property: whatever the text, loadConfig ends in a runtime or in one
 * ConfigError whose rendering is nginx's single line naming file and line —
 * never another exception, a hang, or a crash.
 *
 * Runs are seeded (FUZZ_SEED overrides) so the suite does not depend on
 * luck; FUZZ_RUNS raises the count for a longer hunt.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261121);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
/** One load of a small config takes well under a millisecond; anything near this is a hang in the making. */
const SLOW_MS = 1000;

// Includes resolve against the main file's directory: give them a real one, holding only include-free files.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-fuzz-'));
fs.mkdirSync(path.join(dir, 'conf'));
const FILE = path.join(dir, 'conf', 'fuzz.conf');
fs.writeFileSync(path.join(dir, 'conf', 'prometheus_all.conf'), `prometheus_template all { 'accepted' $p8s_value path=/connections/accepted; }\n`);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ONE_LINE = /^metricproxy: \[emerg\] [^\r\n]+ in (.+):(\d+)$/;

/** Loads `text`; returns 'ok' or the error line, and fails the property on anything else. */
function load(text: string): string {
  const started = Date.now();
  try {
    loadConfig(FILE, { prefix: dir, text });
    return 'ok';
  } catch (e) {
    if (!(e instanceof ConfigError)) throw new Error(`not a ConfigError for ${JSON.stringify(text)}: ${(e as Error)?.stack ?? e}`);
    const line = e.render();
    const m = ONE_LINE.exec(line);
    if (m === null) throw new Error(`not one nginx line: ${JSON.stringify(line)} for ${JSON.stringify(text)}`);
    if (!(m[1] === FILE || m[1].startsWith(dir))) throw new Error(`names another file: ${line}`);
    return line;
  } finally {
    const took = Date.now() - started;
    if (took > SLOW_MS) throw new Error(`load took ${took} ms for ${JSON.stringify(text)}`);
  }
}

function corpus(): string[] {
  const examples = path.join(ROOT, 'conf/examples');
  const files = [path.join(ROOT, 'conf/proxy.conf'), ...fs.readdirSync(examples).map((f) => path.join(examples, f))];
  return files.filter((f) => f.endsWith('.conf')).map((f) => fs.readFileSync(f, 'utf8'));
}

const CORPUS = corpus();
const params = (offset: number) => ({ seed: SEED + offset, numRuns: RUNS });

describe('config fuzzing', () => {
  it('every corpus config loads as it stands', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(10);
    for (const text of CORPUS) expect(load(text)).toBe('ok');
  });

  it('mutated corpus configs load or fail with one nginx line', () => {
    const arb = fc.tuple(fc.constantFrom(...CORPUS), fc.array(mutation, { minLength: 1, maxLength: 8 }));
    fc.assert(fc.property(arb, ([text, muts]) => void load(mutate(text, muts))), params(1));
  });

  it('grammar-generated configs load or fail with one nginx line', () => {
    fc.assert(fc.property(grammarConfig, (text) => void load(text)), params(2));
  });

  it('mutated grammar configs load or fail with one nginx line', () => {
    const arb = fc.tuple(grammarConfig, fc.array(mutation, { minLength: 1, maxLength: 4 }));
    fc.assert(fc.property(arb, ([text, muts]) => void load(mutate(text, muts))), params(3));
  });

  it('random bytes load or fail with one nginx line', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (text) => void load(text)), params(4));
  });

  it.each([
    // a quoted directive name may hold a line break: the error line escapes it
    ['"a\\nb" x;', `metricproxy: [emerg] unknown directive "a\\nb" in ${FILE}:1`],
    ['"\\t\\x01";', `metricproxy: [emerg] unknown directive "\\t\\x01" in ${FILE}:1`],
    // `${` without its `}` in the same word does not swallow the following lines
    ['http {\n${ ;\nserver { }\n}', `metricproxy: [emerg] unknown directive "\${" in ${FILE}:2`],
    ['http {\nserver {\nlocation / { return 200 ${uri;\n}\n}\n}', `metricproxy: [emerg] the closing bracket in variable is missing in ${FILE}:3`],
    // a key state sized by `count` is refused before anything is allocated for it (it used to take ~50 s, or throw RangeError)
    ['http {\nmetric_zone z:1m average mean count=99999999;\n}', `metricproxy: [emerg] zone "z" cannot hold one key of 800000000 bytes in ${FILE}:2`],
    ['http {\nmetric_zone z:1g average mean count=9999999999;\n}', `metricproxy: [emerg] zone "z" cannot hold one key of 80000000000 bytes in ${FILE}:2`],
  ])('found by fuzzing: %j', (text, expected) => {
    expect(load(text)).toBe(expected);
  });

  it('a key state that fits still loads, and ${name} still reads as one word', () => {
    expect(load('http {\nmetric_zone z:1m average mean count=1000;\nserver { location / { return 200 ${uri}x; } }\n}')).toBe('ok');
  });

  it('the grammar reaches loadable configs too (it is not only producing errors)', () => {
    const results = fc.sample(grammarConfig, { seed: SEED, numRuns: 500 }).map(load);
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThan(10);
  });
});
