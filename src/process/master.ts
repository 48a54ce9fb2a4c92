import { randomBytes } from 'node:crypto';
import cluster, { Worker } from 'node:cluster';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, renderWarning } from '../config/errors';
import { loadConfig, Loaded } from './load';
import { ErrorLog } from '../http/log';
import { openLogFiles } from './log-files';
import { MasterToWorker, WORKER_ENV_KEY, WorkerEnv, WorkerToMaster } from './messages';
import { commandLine, setProcessTitle } from './title';

export interface MasterOptions {
  confFile: string;
  prefix: string;
  globalDirectives: string;
}

interface WorkerSlot {
  worker: Worker;
  generation: number;
  retiring: boolean;
  /** When it was forked (ms): a death soon after counts toward a crash loop. */
  startedMs: number;
}

/** A worker that dies this soon after its fork died "right after start". */
const EARLY_DEATH_MS = 5000;
/** This many early deaths in a row, and the master stops instead of restarting for ever. */
const EARLY_DEATHS_TO_STOP = 5;

/**
 * The master parses the config, forks the workers, owns signals, the pid
 * file and reloads; it serves no HTTP itself.
 */
export class Master {
  private readonly slots = new Map<number, WorkerSlot>();
  private generation = 0;
  private env!: WorkerEnv;
  private workerCount = 1;
  private stopping = false;
  private exitCode = 0;
  private pidFile = '';
  /** Workers that died right after start, in a row (any longer-lived death resets it). */
  private earlyDeaths = 0;
  private readonly errorLog = new ErrorLog('stderr', 'notice');

  constructor(private readonly opts: MasterOptions) {}

  private load(): Loaded {
    const loaded = loadConfig(this.opts.confFile, { prefix: this.opts.prefix, globalDirectives: this.opts.globalDirectives });
    openLogFiles(loaded.runtime);
    for (const w of loaded.warnings) this.errorLog.log('warn', renderWarning(w).replace(/^metricproxy: \[warn\] /, ''));
    return loaded;
  }

  private adopt(loaded: Loaded): void {
    const rt = loaded.runtime;
    this.generation++;
    this.workerCount = rt.main.workerProcesses;
    this.pidFile = rt.resolve(rt.main.pid);
    this.errorLog.reconfigure(rt.resolve(rt.main.errorLog), rt.main.errorLogLevel);
    this.env = { ...this.opts, generation: this.generation, loadTime: new Date().toISOString(), ticketKeys: randomBytes(48).toString('base64') };
  }

  /** Starts all workers; resolves when every one listens, rejects on the first fatal report. */
  async start(): Promise<void> {
    this.adopt(this.load());
    setProcessTitle(`metricproxy: master process ${commandLine()}`);
    cluster.setupPrimary({ exec: process.argv[1], args: [], silent: false });
    this.installSignals();
    cluster.on('exit', (w, code, signal) => this.onExit(w, code, signal));
    await this.spawnGeneration();
    // Written once every worker listens, so scripts (and tests) can take the pid file as "ready".
    fs.mkdirSync(path.dirname(this.pidFile), { recursive: true });
    // Whole or absent: written beside it and renamed, so a reader never sees it empty.
    const partial = `${this.pidFile}.${process.pid}`;
    fs.writeFileSync(partial, `${process.pid}\n`);
    fs.renameSync(partial, this.pidFile);
  }

  private spawnGeneration(): Promise<void> {
    const ready: Array<Promise<void>> = [];
    for (let i = 0; i < this.workerCount; i++) ready.push(this.spawn());
    return Promise.all(ready).then(() => undefined);
  }

  /**
   * Forks one worker. Resolves when it listens; rejects only when it reports
   * a fatal start-up error (config, bind). A worker that dies otherwise is
   * replaced by onExit, so its start does not fail the whole generation.
   */
  private spawn(): Promise<void> {
    const worker = cluster.fork({ [WORKER_ENV_KEY]: JSON.stringify(this.env) });
    this.slots.set(worker.id, { worker, generation: this.generation, retiring: false, startedMs: Date.now() });
    // A message to a worker that just died raises EPIPE on this handle; the exit event handles the death.
    worker.on('error', () => undefined);
    return new Promise((resolve, reject) => {
      worker.on('message', (msg: WorkerToMaster) => {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'fatal') {
          const slot = this.slots.get(worker.id);
          if (slot) slot.retiring = true; // a fatal start is not respawned
          reject(new Error(msg.message));
        }
      });
      worker.once('exit', () => resolve());
    });
  }

  private tell(slot: WorkerSlot, msg: MasterToWorker): void {
    if (!slot.worker.isConnected()) return;
    try {
      slot.worker.send(msg);
    } catch {
      /* the worker is gone; its exit event follows */
    }
  }

  private onExit(w: Worker, code: number | null, signal: string | null): void {
    const slot = this.slots.get(w.id);
    this.slots.delete(w.id);
    if (slot === undefined || slot.retiring || this.stopping) {
      if (this.stopping && this.slots.size === 0) this.exit();
      return;
    }
    const how = signal ? `exited on signal ${signal}` : `exited with code ${code}`;
    this.errorLog.log('alert', `worker process ${w.process.pid} ${how}`);
    this.earlyDeaths = Date.now() - slot.startedMs < EARLY_DEATH_MS ? this.earlyDeaths + 1 : 0;
    if (this.earlyDeaths >= EARLY_DEATHS_TO_STOP) return this.giveUp(how);
    if (slot.generation === this.generation) this.spawn().catch((e) => this.errorLog.log('alert', String(e.message)));
  }

  /** Workers keep dying as they start (a damaged store, a broken environment): restarting them cannot help. */
  private giveUp(how: string): void {
    const what = `worker processes died ${this.earlyDeaths} times in a row right after start (last ${how}); stopping — see the lines above`;
    this.errorLog.log('emerg', what);
    if (!this.errorLog.onStderr) process.stderr.write(`metricproxy: [emerg] ${what}\n`);
    this.exitCode = 1;
    this.stop(false);
  }

  private installSignals(): void {
    process.on('SIGHUP', () => void this.reload());
    process.on('SIGTERM', () => this.stop(false));
    process.on('SIGINT', () => this.stop(false));
    process.on('SIGQUIT', () => this.stop(true));
    process.on('SIGUSR1', () => this.reopen());
  }

  /** Parse first; an invalid config is logged and the old workers keep serving. */
  async reload(): Promise<void> {
    let loaded: Loaded;
    try {
      loaded = this.load();
    } catch (e) {
      const msg = e instanceof ConfigError ? e.render().replace(/^metricproxy: \[emerg\] /, '') : String(e);
      this.errorLog.log('emerg', msg);
      return;
    }
    const old = [...this.slots.values()];
    this.adopt(loaded);
    try {
      await this.spawnGeneration();
    } catch (e) {
      this.errorLog.log('alert', `reload failed: ${(e as Error).message}`);
      return;
    }
    for (const s of old) {
      s.retiring = true;
      this.tell(s, { type: 'quit' });
    }
    this.errorLog.log('notice', `reconfiguring: generation ${this.generation}`);
  }

  private reopen(): void {
    this.errorLog.reopen();
    for (const s of this.slots.values()) this.tell(s, { type: 'reopen' });
  }

  stop(graceful: boolean): void {
    if (this.stopping) return;
    this.stopping = true;
    if (this.slots.size === 0) this.exit();
    for (const s of this.slots.values()) this.tell(s, { type: graceful ? 'quit' : 'stop' });
    if (!graceful) setTimeout(() => this.exit(), 5000).unref();
  }

  private exit(): void {
    try {
      if (fs.readFileSync(this.pidFile, 'utf8').trim() === String(process.pid)) fs.unlinkSync(this.pidFile);
    } catch {
      /* no pid file to remove */
    }
    process.exit(this.exitCode);
  }
}
