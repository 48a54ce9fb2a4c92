import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import Redis from 'ioredis';
import { freePorts } from './proc';
import { stopChild, waitFor } from './sys';

/** Where Debian's `redis-server` package puts its binary. */
const BIN = '/usr/bin/redis-server';
const INSTALL = 'apt-get install -y redis-server';

export interface RedisServer {
  port: number;
  url: string;
  /** Kills it at once (SIGKILL): an outage, not a shutdown. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A real redis-server on 127.0.0.1, no persistence; throws how to install it when missing (never a silent skip). */
export async function startRedis(): Promise<RedisServer> {
  if (!fs.existsSync(BIN)) throw new Error(`this test needs the real redis-server (Debian package redis-server): ${INSTALL}`);
  const [port] = await freePorts(1);
  let child: ChildProcess | undefined;
  const launch = async () => {
    const c = spawn(BIN, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    child = c;
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    probe.on('error', () => undefined);
    try {
      await waitFor(async () => (c.exitCode === null ? await probe.ping().catch(() => undefined) : 'exited'), 20_000, `redis-server on port ${port}`);
      if (c.exitCode !== null) throw new Error(`redis-server exited with ${c.exitCode}`);
    } finally {
      probe.disconnect();
    }
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    kill: () => stopChild(child!, 'SIGKILL'),
    restart: launch,
    stop: () => stopChild(child!, 'SIGTERM'),
  };
}
