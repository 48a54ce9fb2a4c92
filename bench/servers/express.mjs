// The usual Node answer with metrics: express + http-proxy-middleware + a prom-client histogram of
// request duration by method, route and status (what express-prom-bundle sets up), /metrics served.
// Usage: node bench/servers/express.mjs PORT BACKEND_PORT
import * as http from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import client from 'prom-client';

const [port, backendPort] = process.argv.slice(2).map(Number);
const registry = new client.Registry();
const duration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'request duration by method, route and status',
  labelNames: ['method', 'route', 'status_code'],
  buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1],
  registers: [registry],
});

function observeDuration(req, res, next) {
  const end = duration.startTimer();
  res.once('finish', () => end({ method: req.method, route: req.route?.path ?? req.path, status_code: res.statusCode }));
  next();
}

const app = express();
app.disable('x-powered-by');
app.get('/metrics', async (req, res) => res.type(registry.contentType).send(await registry.metrics()));
app.use(observeDuration);
app.use(
  createProxyMiddleware({
    target: `http://127.0.0.1:${backendPort}`,
    agent: new http.Agent({ keepAlive: true, maxSockets: 256 }),
  }),
);
app.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
