import { ConfigError } from '../config/errors';
import { loadConfig } from '../config/load';
import { Listeners } from '../http/listeners';
import type { Runtime } from '../http/runtime';
import { ErrorLog, isLevel } from './log';
import type { MasterToWorker, WorkerEnv, WorkerToMaster } from './messages';

function send(msg: WorkerToMaster): void {
  process.send?.(msg);
}

let stopping = false;

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
  const bound = rt.main.workerShutdownTimeoutMs;
  if (graceful && bound > 0) setTimeout(() => listeners.cut(), bound).unref();
  await listeners.close(graceful);
  for (const hook of rt.shutdownHooks) await hook();
  await Promise.all(rt.logFiles.map((f) => f.close()));
  process.exit(0);
}

/**
 * A worker builds the runtime from the same config its master checked,
 * runs the modules' worker init (open the store), then serves.
 */
export async function runWorker(env: WorkerEnv): Promise<void> {
  let rt: Runtime;
  try {
    rt = loadConfig(env.confFile, { prefix: env.prefix, globalDirectives: env.globalDirectives }).runtime;
  } catch (e) {
    send({ type: 'fatal', message: e instanceof ConfigError ? e.render() : String(e) });
    process.exit(1);
  }
  rt.generation = env.generation;
  rt.loadTime = new Date(env.loadTime);
  const errorLog = new ErrorLog(rt.resolve(rt.main.errorLog), rt.main.errorLogLevel);
  // A warning emitted with an error-log level as its type logs at that level (the store's crit/warn lines).
  process.on('warning', (w) => errorLog.log(isLevel(w.name) ? w.name : 'error', w.message));
  try {
    for (const init of rt.workerInits) await init(rt);
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
  process.on('disconnect', () => void shutdown(rt, listeners, false));
  send({ type: 'ready' });
}
