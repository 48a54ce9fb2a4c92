import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Requests waiting on a connection behind the one being answered. */
const kWaiting = Symbol('waitingRequests');

type Turn = () => void;
type Connection = Socket & { [kWaiting]?: Turn[] };

/**
 * Runs the requests of one connection one at a time, as nginx reads a
 * connection's next request only once the current one is done. Node emits
 * pipelined requests as fast as it parses them: 2,000 pipelined GETs on one
 * connection opened 2,000 upstream connections at once. While requests
 * wait, the socket is paused, so a client cannot make the proxy read (and
 * hold) more than one socket read ahead.
 */
export function inTurn(socket: Socket, res: ServerResponse, run: () => void): void {
  const conn = socket as Connection;
  const turn = () => {
    res.once('close', () => nextTurn(conn));
    run();
  };
  const waiting = conn[kWaiting];
  if (waiting === undefined) {
    conn[kWaiting] = [];
    turn();
    return;
  }
  waiting.push(turn);
  socket.pause();
}

function nextTurn(conn: Connection): void {
  const waiting = conn[kWaiting];
  // A closed or closing connection answers nothing more: the waiting requests were never read, as in nginx.
  const turn = conn.writable ? waiting?.shift() : undefined;
  if (turn !== undefined) {
    turn();
    return;
  }
  delete conn[kWaiting];
  if (conn.writable) conn.resume();
}
