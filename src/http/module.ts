import type { DirectiveSpec } from '../config/registry';
import type { Builder } from './builder';

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
}
