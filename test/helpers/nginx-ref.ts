import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canConnect } from './proc';
import { stopChild } from './sys';

/** The real nginx (Debian nginx-light) as a reference to compare with. */

export const NGINX = '/usr/sbin/nginx';

export interface RefNginx {
  prefix: string;
  stop(): Promise<void>;
}

/** Fails (never skips) when nginx is missing, with the command that installs it. */
export function requireNginx(): void {
  if (!fs.existsSync(NGINX)) throw new Error(`${NGINX} is missing: apt-get install -y nginx-light`);
}

/**
 * Runs nginx in the foreground, one process, everything (error log, pid,
 * temp files) in a temp prefix; `http` is the inside of the http block.
 * Resolves once `port` accepts connections.
 */
export async function startNginx(http: string, port: number): Promise<RefNginx> {
  requireNginx();
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-nginx-'));
  const conf = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `error_log ${prefix}/error.log;\npid ${prefix}/nginx.pid;\nevents { }\nhttp {\n  access_log off;\n  client_body_temp_path ${prefix};\n  proxy_temp_path ${prefix};\n${http}\n}\n`,
  );
  const child: ChildProcess = spawn(NGINX, ['-p', prefix, '-c', conf, '-g', 'daemon off; master_process off;'], { stdio: 'ignore' });
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const log = fs.existsSync(`${prefix}/error.log`) ? fs.readFileSync(`${prefix}/error.log`, 'utf8') : '';
      throw new Error(`nginx did not start on ${port}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    prefix,
    async stop() {
      await stopChild(child, 'SIGQUIT');
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}
