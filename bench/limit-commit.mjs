// What a limit_req decision costs in the store, without HTTP: one process deciding batches of 1, 4
// and 16 checks per write transaction (as one loop turn's checks share one), and two processes
// doing the same on one store at once (as two workers do). Writes bench/results/limits-commit.md.
//   npm run build && node bench/limit-commit.mjs [--turns=20000]
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIST, fixed, machineDescription, markdownTable, parseArgs, tempDir, writeResult } from './lib.mjs';
import { limitReqZone } from './limit-decide.mjs';

const CHILD = process.argv[2] === 'child';
const opts = CHILD ? { turns: 0 } : parseArgs(process.argv.slice(2), { turns: 20000 });
const self = fileURLToPath(import.meta.url);

/** In a child: `turns` transactions of `batch` decisions on one key; reports µs per decision. */
async function decideInChild(storeDir, batch, turns) {
  const env = createRequire(self)(path.join(DIST, 'store/environment.js'));
  const store = env.openEnvironment(storeDir, { mapSize: 1 << 28, maxDbs: 8 });
  const never = { name: 'never', size: 1 << 20, keySource: '$binary_remote_addr', rate: 1e9, burst: 1e6, delay: Number.MAX_SAFE_INTEGER };
  const { decideAll } = limitReqZone({ env: store }, never);
  const keys = Array(batch).fill('\x7f\x00\x00\x01');
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < turns; i++) decideAll(keys, Date.now());
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await env.leaveEnvironment(store);
  return { wall: wallUs / (turns * batch), cpu: (cpu.user + cpu.system) / (turns * batch) };
}

function run(storeDir, batch) {
  return new Promise((resolve, reject) => {
    const child = fork(self, ['child', storeDir, String(batch), String(opts.turns)]);
    child.once('message', resolve);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`child exited with ${code}`))));
  });
}

if (CHILD) {
  const [, , , storeDir, batch, turns] = process.argv;
  const r = await decideInChild(storeDir, Number(batch), Number(turns));
  process.send(r, () => process.exit(0));
} else {
  const rows = [];
  for (const processes of [1, 2]) {
    for (const batch of [1, 4, 16]) {
      const dir = tempDir('limit-commit');
      try {
        const results = await Promise.all(Array.from({ length: processes }, () => run(dir, batch)));
        const mean = (f) => results.reduce((s, r) => s + r[f], 0) / results.length;
        rows.push([processes, batch, fixed(mean('wall'), 2), fixed(mean('cpu'), 2)]);
        console.log(processes, batch, mean('wall'), mean('cpu'));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  writeResult('limits-commit.md', `# A limit_req decision in the store

Machine: ${machineDescription()}. Run: \`node bench/limit-commit.mjs\` (${new Date().toISOString()}).

${opts.turns} write transactions per process, each deciding \`batch\` checks of one key (a never-rejecting
\`limit_req\`, as bench/limits.mjs), through the store code a worker uses (src/limit/, src/store/).
Two processes run at once on one store, as two workers do. µs per decision, the mean of the processes.

${markdownTable([['processes', 'r'], ['batch', 'r'], ['wall µs per decision', 'r'], ['CPU µs per decision', 'r']], rows)}
`);
}
