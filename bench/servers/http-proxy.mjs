// The plain Node answer: http-proxy in front of the backend with a keep-alive agent, no metrics.
// Usage: node bench/servers/http-proxy.mjs PORT BACKEND_PORT
import * as http from 'node:http';
import httpProxy from 'http-proxy';

const [port, backendPort] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${backendPort}`, agent });
proxy.on('error', (err, req, res) => {
  res.writeHead?.(502);
  res.end?.();
});
http.createServer((req, res) => proxy.web(req, res)).listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
