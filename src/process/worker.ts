import cluster from 'node:cluster';
import * as fs from 'node:fs';
import { ConfigError } from '../config/errors';
import { loadConfig } from './load';
import { Listeners } from '../http/listeners';
import type { Runtime } from '../http/runtime';
import { isLevel, WarnOnChange } from '../http/log';
import type { MasterToWorker, WorkerEnv, WorkerToMaster } from './messages';
import { setProcessTitle } from './title';

function send(msg: WorkerToMaster): void {
  process.send?.(msg);
}

let stopping = false;

/** How long a worker whose master died may finish the requests it holds. */
const ORPHAN_DRAIN_MS = 10_000;

/**
 * Stops the worker once: graceful waits for open connections (for at most
 * worker_shutdown_timeout, if set), fast cuts them. A fast stop arriving
 * during a graceful one cuts what is left.
 */
async function shutdown(rt: Runtime, listeners: Listeners, graceful: boolean): Promise<void> {
  if (stopping) {
    if (!graceful) listeners.cut();
    return;
  }
  stopping = true;
  if (graceful) setProcessTitle('metricproxy: worker process is shutting down');
  const bound = rt.main.workerShutdownTimeoutMs;
  if (graceful && bound > 0) setTimeout(() => listeners.cut(), bound).unref();
  await listeners.close(graceful);
  for (const m of [...rt.modules].reverse()) await m.exitWorker?.(rt);
  await rt.store.leave();
  await Promise.all(rt.logFiles.map((f) => f.close()));
  process.exit(0);
}

/**
 * The master died without stopping us (kill -9): the listening sockets were
 * its own, so nothing new can arrive. Say so, finish what is in flight
 * (bounded), and remove the dead master's pid file so nothing signals a
 * pid that may be reused; the next start needs no cleanup.
 */
function orphaned(rt: Runtime, listeners: Listeners, masterPid: number): void {
  if (stopping) return; // told to stop first: the master left after a stop it ordered
  rt.errorLog.log('alert', `master process ${masterPid} exited unexpectedly; worker process ${process.pid} finishes its requests and exits`);
  const pidFile = rt.resolve(rt.main.pid);
  try {
    if (fs.readFileSync(pidFile, 'utf8').trim() === String(masterPid)) fs.unlinkSync(pidFile);
  } catch {
    /* already removed by a sibling worker, or never written */
  }
  setTimeout(() => listeners.cut(), ORPHAN_DRAIN_MS).unref();
  // A worker's server.close() waits for the master to release the shared listener, which never
  // comes: once the last connection is gone, cut() ends the wait.
  setInterval(() => listeners.openConnections() === 0 && listeners.cut(), 50).unref();
  void shutdown(rt, listeners, true);
}

/**
 * A worker builds the runtime from the same config its master checked,
 * runs the modules' worker init (open the store), then serves.
 */
export async function runWorker(env: WorkerEnv): Promise<void> {
  setProcessTitle('metricproxy: worker process');
  let rt: Runtime;
  try {
    rt = loadConfig(env.confFile, { prefix: env.prefix, globalDirectives: env.globalDirectives }).runtime;
  } catch (e) {
    send({ type: 'fatal', message: e instanceof ConfigError ? e.render() : String(e) });
    process.exit(1);
  }
  rt.generation = env.generation;
  rt.loadTime = new Date(env.loadTime);
  rt.tlsTicketKeys = env.ticketKeys ? Buffer.from(env.ticketKeys, 'base64') : undefined;
  const errorLog = rt.errorLog;
  // A warning emitted with an error-log level as its type logs at that level (the store's crit/warn lines).
  process.on('warning', (w) => errorLog.log(isLevel(w.name) ? w.name : 'error', w.message));
  const syncFailures = new WarnOnChange('metric store');
  try {
    rt.store.open(rt.resolve(rt.store.dir), (e) => syncFailures.report(e));
    for (const m of rt.modules) await m.initWorker?.(rt);
  } catch (e) {
    send({ type: 'fatal', message: `worker init failed: ${(e as Error).message}` });
    process.exit(1);
  }
  const listeners = new Listeners(rt);
  try {
    await listeners.listen();
  } catch (e) {
    send({ type: 'fatal', message: `bind() failed (${(e as Error).message})` });
    process.exit(1);
  }
  process.on('message', (msg: MasterToWorker) => {
    if (msg.type === 'quit') void shutdown(rt, listeners, true);
    else if (msg.type === 'stop') void shutdown(rt, listeners, false);
    else if (msg.type === 'reopen') {
      for (const f of rt.logFiles) f.reopen();
      errorLog.reopen();
    }
  });
  // Signals go to the master; a worker ignores them so a terminal ^C does not cut requests mid-flight.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGHUP', 'SIGUSR1'] as const) process.on(sig, () => undefined);
  const masterPid = process.ppid;
  // Node's cluster child exits at once on an unexpected disconnect unless told the disconnect is expected.
  if (cluster.worker) cluster.worker.exitedAfterDisconnect = true;
  process.on('disconnect', () => orphaned(rt, listeners, masterPid));
  send({ type: 'ready' });
}
