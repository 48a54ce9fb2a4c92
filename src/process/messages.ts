/** Master ↔ worker messages, typed in one place. */
export type MasterToWorker =
  | { type: 'quit' } // graceful: stop accepting, finish in-flight requests, exit
  | { type: 'stop' } // fast: exit now
  | { type: 'reopen' }; // reopen log files

export type WorkerToMaster = { type: 'ready' } | { type: 'fatal'; message: string };

/** What a worker needs to build the same runtime as its master. */
export interface WorkerEnv {
  confFile: string;
  prefix: string;
  globalDirectives: string;
  generation: number;
  loadTime: string;
  /** TLS session ticket keys (48 bytes, base64), one set per load shared by its workers, so any of them resumes a session. */
  ticketKeys: string;
}

export const WORKER_ENV_KEY = 'METRICPROXY_WORKER';
