import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePorts, getJson, request } from './proc';
import { stopChild } from './sys';

/** Where Debian's `prometheus` package puts its binaries. */
const BIN_DIR = '/usr/bin';
const INSTALL = 'apt-get install -y --no-install-recommends prometheus';

/** The path of `prometheus` or `promtool`; throws how to install it when missing (never a silent skip). */
export function prometheusBinary(name: 'prometheus' | 'promtool'): string {
  const bin = path.join(BIN_DIR, name);
  if (!fs.existsSync(bin)) throw new Error(`this test needs the real ${name} (Debian package prometheus): ${INSTALL}`);
  return bin;
}

/** Runs promtool; its exit code and output. */
export function promtool(args: string[]): { code: number | null; output: string } {
  const r = spawnSync(prometheusBinary('promtool'), args, { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

export interface Prometheus {
  port: number;
  /** The single number an instant query answers, or undefined while it has no (or several) samples. */
  scalar(query: string): Promise<number | undefined>;
  /** Every sample of an instant query, by the value of `label`. */
  vector(query: string, label: string): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

interface QueryAnswer {
  data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

/**
 * A real Prometheus on an OS-assigned port with a temp storage dir, loading
 * `yaml` (written next to its data); resolves once it says it is ready.
 */
export async function startPrometheus(yaml: string): Promise<Prometheus> {
  const bin = prometheusBinary('prometheus');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-prom-'));
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), yaml);
  const [port] = await freePorts(1);
  const args = [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while ((await request(`${base}/-/ready`).catch(() => undefined))?.status !== 200) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`prometheus did not start; stderr: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const query = async (q: string) => ((await getJson(`${base}/api/v1/query?query=${encodeURIComponent(q)}`)) as QueryAnswer).data.result;
  return {
    port,
    async scalar(q) {
      const result = await query(q);
      return result.length === 1 ? Number(result[0].value[1]) : undefined;
    },
    async vector(q, label) {
      return new Map((await query(q)).map((s) => [s.metric[label], Number(s.value[1])]));
    },
    async stop() {
      await stopChild(child, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
