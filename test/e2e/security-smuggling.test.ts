import { describe, expect, it } from 'vitest';
import { expectRefused, frontedForFile } from '../helpers/fronted';
import { rawExchange } from '../helpers/raw';

/**
 * More request-smuggling forms (issue 10: the attacks that held, kept as
 * regressions; abuse-http.test.ts has the classic CL.TE / TE.CL / duplicate
 * CL set). Each form is either refused — and nothing reaches the upstream —
 * or framed one way only: the upstream sees exactly the requests the client
 * framed, with the bodies the client framed. nginx 1.22's answer is noted
 * where it differs; it is never less strict in a way that matters.
 */

const f = frontedForFile(
  (port, backendPort) => `
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://127.0.0.1:${backendPort}; }
  }`,
);

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
const post = (headers: string[], body: string) => `POST /t HTTP/1.1\r\nHost: x\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`;

describe('refused, nothing forwarded, connection closed', () => {
  it.each([
    ['TE "chunked" in quotes', ['Transfer-Encoding: "chunked"'], `0\r\n\r\n${SMUGGLED}`, 501],
    ['TE chunked then TE x', ['Transfer-Encoding: chunked', 'Transfer-Encoding: x'], `0\r\n\r\n${SMUGGLED}`, 400],
    ['TE x then TE chunked (nginx: 400)', ['Transfer-Encoding: x', 'Transfer-Encoding: chunked'], `0\r\n\r\n${SMUGGLED}`, 501],
    ['TE identity with CL (nginx: 501)', ['Transfer-Encoding: identity', 'Content-Length: 5'], `0\r\n\r\n${SMUGGLED}`, 400],
    ['tab before the colon of TE', ['Transfer-Encoding\t: chunked'], `0\r\n\r\n${SMUGGLED}`, 400],
    ['chunk size in hex notation', ['Transfer-Encoding: chunked'], '0x5\r\nabcde\r\n0\r\n\r\n', 400],
    ['space before the chunk size', ['Transfer-Encoding: chunked'], ' 5\r\nabcde\r\n0\r\n\r\n', 400],
    ['bare LF chunk lines (nginx: accepted)', ['Transfer-Encoding: chunked'], '5\nabcde\n0\n\n', 400],
    ['a second CL with space before the colon', ['Content-Length: 5', 'Content-Length : 6'], 'abcdef', 400],
    ['a negative CL', ['Content-Length: -1'], 'abcde', 400],
  ])('%s → %i', async (_name, headers, body, status) => {
    await expectRefused(f, post(headers, body), status);
  });
});

describe('framed one way only: the upstream sees what the client framed', () => {
  it.each([
    ['TE with a tab as whitespace (nginx: 501)', ['Transfer-Encoding:\tchunked'], `0\r\n\r\n${SMUGGLED}`, [['/t', ''], ['/smuggled', '']]],
    ['TE in capitals', ['Transfer-Encoding: CHUNKED'], `0\r\n\r\n${SMUGGLED}`, [['/t', ''], ['/smuggled', '']]],
    ['TE with trailing space', ['Transfer-Encoding: chunked '], `0\r\n\r\n${SMUGGLED}`, [['/t', ''], ['/smuggled', '']]],
    ['Transfer_Encoding (not TE) with CL', ['Transfer_Encoding: chunked', 'Content-Length: 5'], `0\r\n\r\n${SMUGGLED}`, [['/t', '0\r\n\r\n'], ['/smuggled', '']]],
    ['a chunk extension', ['Transfer-Encoding: chunked'], `5;ext=1\r\nabcde\r\n0\r\n\r\n${SMUGGLED}`, [['/t', 'abcde'], ['/smuggled', '']]],
    ['CL with a leading zero', ['Content-Length: 05'], `abcde${SMUGGLED}`, [['/t', 'abcde'], ['/smuggled', '']]],
    ['CL with trailing space', ['Content-Length: 5 '], `abcde${SMUGGLED}`, [['/t', 'abcde'], ['/smuggled', '']]],
  ])('%s', async (_name, headers, body, expected) => {
    const before = f.backend.seen.length;
    const reply = await rawExchange(f.port, post(headers, body), { until: (t) => t.split('ok /').length > expected.length });
    expect(reply.statuses).toEqual(expected.map(() => 200));
    expect(f.backend.seen.slice(before).map((s) => [s.url, s.body])).toEqual(expected);
  });
});
