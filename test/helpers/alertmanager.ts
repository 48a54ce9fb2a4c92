import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePorts, request } from './proc';
import { stopChild } from './sys';

/** Where Debian's `prometheus-alertmanager` package puts its binary. */
const BIN = '/usr/bin/prometheus-alertmanager';
const INSTALL = 'apt-get install -y prometheus-alertmanager';

/** One alert as Alertmanager's v2 API lists it. */
export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
  endsAt: string;
}

export interface Alertmanager {
  url: string;
  /** Every alert Alertmanager holds (active or not yet garbage-collected). */
  alerts(): Promise<AmAlert[]>;
  stop(): Promise<void>;
}

const CONFIG = 'route:\n  receiver: none\nreceivers:\n  - name: none\n';

/** A real Alertmanager on a free port with a temp storage path, no clustering; resolves once it is ready. */
export async function startAlertmanager(): Promise<Alertmanager> {
  if (!fs.existsSync(BIN)) throw new Error(`this test needs the real Alertmanager (Debian package prometheus-alertmanager): ${INSTALL}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-am-'));
  fs.writeFileSync(path.join(dir, 'am.yml'), CONFIG);
  const [port] = await freePorts(1);
  const args = [`--config.file=${path.join(dir, 'am.yml')}`, `--storage.path=${dir}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='];
  const child: ChildProcess = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while ((await request(`${url}/-/ready`).catch(() => undefined))?.status !== 200) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`alertmanager did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    alerts: async () => JSON.parse((await request(`${url}/api/v2/alerts`)).body) as AmAlert[],
    async stop() {
      await stopChild(child, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
