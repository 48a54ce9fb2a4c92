import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Requests waiting on a connection behind the one being answered (set while any is in progress). */
const kWaiting = Symbol('waitingRequests');
/** Responses the connection has completed. */
const kAnswered = Symbol('answeredRequests');
/** When a fresh connection must have sent its request: accepted + client_header_timeout. */
const kHeadDeadline = Symbol('headDeadline');

type Turn = () => void;
/** The connection became a tunnel (Upgrade): it lives until a side closes it. */
const kTunnel = Symbol('tunnel');

type Connection = Socket & { [kWaiting]?: Turn[]; [kAnswered]?: number; [kHeadDeadline]?: number; [kTunnel]?: boolean };

export function noteAccepted(socket: Socket, headerTimeoutMs: number): void {
  (socket as Connection)[kHeadDeadline] = Date.now() + headerTimeoutMs;
}

export function noteTunnel(socket: Socket): void {
  (socket as Connection)[kTunnel] = true;
}

/**
 * A connection that has not completed a request within client_header_timeout
 * of being accepted (silent, or a head still dripping in). Node stops its own
 * header timer when the server closes, so a stopping worker must close these
 * itself — one silent connection (a browser's preconnect) kept a retiring
 * worker alive for ever. A tunnel is never stale.
 */
export function staleWithoutRequest(socket: Socket, nowMs: number): boolean {
  const conn = socket as Connection;
  if (conn[kWaiting] !== undefined || conn[kTunnel] || (conn[kAnswered] ?? 0) > 0) return false;
  return nowMs > (conn[kHeadDeadline] ?? 0);
}

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
  conn[kAnswered] = (conn[kAnswered] ?? 0) + 1;
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
