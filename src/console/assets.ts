import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../config/errors';
import { CONSOLE_CSS } from './style';

/** One file the console serves, ready to send. */
export interface Asset {
  type: string;
  body: Buffer;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** The compiled page modules (tsconfig.page.json writes them there), found the same from dist/console/ and src/console/. */
const PAGE_DIR = path.resolve(__dirname, '../../dist/console/page');

let cached: Map<string, Asset> | undefined;

/** The page's own modules plus uPlot's ESM build and stylesheet, read once per process (no CDN: all from the package). */
export function consoleAssets(): Map<string, Asset> {
  if (cached !== undefined) return cached;
  const assets = new Map<string, Asset>();
  let files: string[];
  try {
    files = fs.readdirSync(PAGE_DIR).filter((f) => f.endsWith('.js'));
  } catch {
    throw new ConfigError(`console page not built (${PAGE_DIR} missing: run "npm run build")`);
  }
  for (const f of files) assets.set(f, { type: JS, body: fs.readFileSync(path.join(PAGE_DIR, f)) });
  const uplotDir = path.dirname(require.resolve('uplot/dist/uPlot.esm.js'));
  assets.set('uPlot.esm.js', { type: JS, body: fs.readFileSync(path.join(uplotDir, 'uPlot.esm.js')) });
  assets.set('uPlot.min.css', { type: CSS, body: fs.readFileSync(path.join(uplotDir, 'uPlot.min.css')) });
  assets.set('console.css', { type: CSS, body: Buffer.from(CONSOLE_CSS, 'utf8') });
  cached = assets;
  return assets;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** The single page: asset URLs are absolute under `base`, so any location prefix works. */
export function consoleHtml(base: string, api: string, throttleApis: Record<string, string>): Buffer {
  const b = escapeAttr(base);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>metricproxy console</title>
<link rel="stylesheet" href="${b}uPlot.min.css">
<link rel="stylesheet" href="${b}console.css">
<script type="importmap">${JSON.stringify({ imports: { uplot: `${base}uPlot.esm.js` } }).replace(/</g, '\\u003c')}</script>
<script type="module" src="${b}main.js"></script>
</head>
<body data-api="${escapeAttr(api)}" data-throttle-apis="${escapeAttr(JSON.stringify(throttleApis))}">
<header>
  <h1>metricproxy</h1>
  <nav id="tabs"></nav>
  <label>poll every <input id="interval" type="number" min="0.2" step="0.1" value="1"> s</label>
</header>
<div id="banner" hidden></div>
<main id="views"></main>
</body>
</html>
`;
  return Buffer.from(html, 'utf8');
}
