// Compiles a copy of the sources into node_modules/.cache/mp-bench/NAME/dist, for before/after runs
// of two builds in one session: `node bench/build-copy.mjs base` before a change, then
// `MP_DIST=node_modules/.cache/mp-bench/base/dist node bench/compare.mjs --only mp-4m-1w` (or micro.mjs)
// against the changed dist/. Usage: node bench/build-copy.mjs NAME [SRC_DIR (default src)]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './lib.mjs';

const [name, srcDir = 'src'] = process.argv.slice(2);
if (!name) throw new Error('usage: node bench/build-copy.mjs NAME [SRC_DIR]');
const dir = path.join(ROOT, 'node_modules/.cache/mp-bench', name);
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
fs.cpSync(path.resolve(ROOT, srcDir), path.join(dir, 'src'), { recursive: true });
fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json')); // read for the version
const tsconfig = { extends: path.join(ROOT, 'tsconfig.json'), compilerOptions: { outDir: 'dist', rootDir: 'src' }, include: ['src/**/*.ts'], exclude: ['src/console/page'] };
fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { stdio: 'inherit' });
console.log(`MP_DIST=${path.relative(ROOT, path.join(dir, 'dist'))}`);
