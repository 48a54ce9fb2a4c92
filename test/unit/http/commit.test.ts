import { describe, expect, it } from 'vitest';
import { CommitQueue } from '../../../src/http/commit';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A queue with one flusher that records when it ran. */
function queueWithLog() {
  const log: string[] = [];
  const queue = new CommitQueue();
  queue.register(() => log.push('commit'));
  return { queue, log };
}

async function until(check: () => boolean, deadlineMs = 5000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

describe('CommitQueue', () => {
  it('commits writes someone waits for at the end of the loop turn, once for all of them', async () => {
    const { queue, log } = queueWithLog();
    queue.dirty();
    queue.dirty();
    queue.after(() => log.push('end A'));
    queue.after(() => log.push('end B'));
    expect(log).toEqual([]);
    await nextTurn();
    expect(log).toEqual(['commit', 'end A', 'end B']);
  });

  it('leaves writes nobody waits for past the loop turn, and commits them on its own soon after', async () => {
    const { queue, log } = queueWithLog();
    queue.dirtyLater();
    await nextTurn();
    expect(log).toEqual([]);
    await until(() => log.length > 0);
    expect(log).toEqual(['commit']);
  });

  it('a response ended after writes nobody waited for waits for their commit, and they commit only once', async () => {
    const { queue, log } = queueWithLog();
    queue.dirtyLater();
    queue.dirtyLater();
    queue.after(() => log.push('end'));
    expect(log).toEqual([]);
    await nextTurn();
    expect(log).toEqual(['commit', 'end']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(log).toEqual(['commit', 'end']);
  });

  it('flushNow commits writes nobody waited for (a reader sees them), and nothing is left to commit after', async () => {
    const { queue, log } = queueWithLog();
    queue.dirtyLater();
    queue.flushNow();
    expect(log).toEqual(['commit']);
    queue.after(() => log.push('end'));
    expect(log).toEqual(['commit', 'end']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(log).toEqual(['commit', 'end']);
  });
});
