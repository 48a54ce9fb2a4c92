/**
 * An upstream's 100 Continue that nobody asked for. RFC 9110 §15.2: a client
 * must parse 1xx responses it did not expect and may ignore them; the real
 * answer follows on the same connection. undici passes 102 and 103 to the
 * handler as informational (pass.ts waits for the real head), but it takes a
 * 100 to a request without `Expect: 100-continue` for a broken server and
 * destroys the connection: a 502 where the backend did answer. (nginx 1.22
 * does worse: it sends the 100 to the client as the final response.)
 *
 * undici's HTTP/1.1 parser is internal, so its onHeadersComplete is wrapped
 * once, on its prototype, from the first upstream socket: a 100 goes the way
 * of the other 1xx codes, as a code undici treats alike and the handler
 * ignores; every other code goes through untouched. If undici's internals
 * change, test/e2e/upstream-continue.test.ts says so.
 */
import { buildConnector } from 'undici';
const { kParser } = require('undici/lib/core/symbols') as { kParser: symbol };

type HeadersComplete = (statusCode: number, upgrade: boolean, keepAlive: boolean) => number;
interface UndiciParser {
  onHeadersComplete: HeadersComplete;
}

/** An informational code undici's parser passes on to the handler like 102 and 103. */
const PLAIN_INFORMATIONAL = 199;
let wrapped = false;

function skipUnaskedContinue(parser: UndiciParser): void {
  const proto = Object.getPrototypeOf(parser) as UndiciParser;
  const original = proto.onHeadersComplete;
  proto.onHeadersComplete = function (this: UndiciParser, statusCode, upgrade, keepAlive) {
    return original.call(this, statusCode === 100 ? PLAIN_INFORMATIONAL : statusCode, upgrade, keepAlive);
  };
  wrapped = true;
}

/** `connect`, whose first socket has undici's parser taught to skip an unasked 100 Continue. */
export function skippingContinue(connect: buildConnector.connector): buildConnector.connector {
  return (opts, callback) =>
    connect(opts, (...args) => {
      const socket = args[1];
      // On a failed connect undici calls back with the error alone.
      if (socket != null && !wrapped) {
        // undici attaches its parser once the connection is handed over and reads on 'readable'.
        socket.prependOnceListener('readable', () => {
          const parser = (socket as unknown as Record<symbol, UndiciParser | undefined>)[kParser];
          if (parser !== undefined && !wrapped) skipUnaskedContinue(parser);
        });
      }
      callback(...args);
    });
}
