// `http: { listen: 127.0.0.1:9465 }`: GET /healthz (200 or 503, the state of each link as JSON)
// and GET /metrics (Prometheus text). Nothing else; read-only; bind it to loopback.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log';
import type { Metrics } from './metrics';

export interface Health {
  ok: boolean;
  pbx: { up: boolean; state: string };
  sms: { up: boolean; state: string };
  ledger: { up: boolean; error?: string };
  /** Ended calls waiting in memory for the ledger (not healthy while any do), and those dropped from a full queue since start. */
  retry_queue: { calls: number; dropped: number };
}

export class HealthServer {
  private server?: Server;

  constructor(
    private readonly listen: { host: string; port: number },
    private readonly health: () => Promise<Health>,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      if (path === '/healthz') {
        this.health().then(
          (h) => res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h) + '\n'),
          (err: Error) => res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: err.message }) + '\n'),
        );
      } else if (path === '/metrics') {
        this.metrics.text().then(
          (text) => res.writeHead(200, { 'content-type': this.metrics.contentType }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('mctb: /healthz and /metrics\n');
      }
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listen.port, this.listen.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    this.log.info('health and metrics listening', { url: `http://${this.listen.host}:${port}/healthz` });
    return port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
