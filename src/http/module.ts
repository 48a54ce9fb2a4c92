import type { DirectiveSpec } from '../config/registry';
import type { Builder } from './builder';
import type { Runtime } from './runtime';

/**
 * Every feature is a module with the same face, nginx-style: a table of
 * directives, and hooks around the config walk.
 */
export interface Module {
  name: string;
  directives: DirectiveSpec[];
  /** Before the walk: define variables other modules may reference. */
  preconfiguration?(b: Builder): void;
  /**
   * Location-level inheritance: given the effective conf of the enclosing
   * level (undefined at the top) and this level's own (undefined if none),
   * returns this level's effective conf.
   */
  merge?(parent: unknown, child: unknown): unknown;
  /** After the walk and merge: register phase handlers, API nodes, checks. */
  postconfiguration?(b: Builder): void;
  /**
   * In each worker, in module-list order, once the store is open (nginx's
   * init process): open databases, start timers.
   */
  initWorker?(rt: Runtime): void | Promise<void>;
  /**
   * When the worker stops, in reverse module-list order, before the store
   * closes (nginx's exit process): flush and close what initWorker opened.
   */
  exitWorker?(rt: Runtime): void | Promise<void>;
}
