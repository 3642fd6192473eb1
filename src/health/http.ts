// `http: { listen: 127.0.0.1:9465 }`: GET /healthz (200 or 503, the state of each link as JSON)
// and GET /metrics (Prometheus text); and the SMS transport's webhook routes (an HTTP carrier's
// incoming texts and delivery status), each authenticating its requests as the carrier signs
// them. Without webhooks, bind it to loopback.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log';
import type { Metrics } from './metrics';
import type { WebhookRoute } from '../sms/transport';

/** A carrier's webhook body is small; anything bigger is refused unread. */
const WEBHOOK_BODY_MAX = 64 * 1024;

export interface Health {
  ok: boolean;
  pbx: { up: boolean; state: string };
  sms: { up: boolean; state: string };
  ledger: { up: boolean; error?: string };
  /** Ended calls waiting in memory for the ledger (not healthy while any do), and those dropped from a full queue since start. */
  retry_queue: { calls: number; dropped: number };
  /** active, or standby (another daemon of the site sends: shared PostgreSQL ledger). */
  role?: 'active' | 'standby';
  site?: string;
}

export class HealthServer {
  private server?: Server;

  constructor(
    private readonly listen: { host: string; port: number },
    private readonly health: () => Promise<Health>,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly webhooks: readonly WebhookRoute[] = [],
  ) {}

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const hook = this.webhooks.find((w) => w.path === path);
      if (hook) {
        this.webhook(hook, req, res);
        return;
      }
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

  /** Reads the body (bounded), hands it to the route, answers what it says; never throws. */
  private webhook(hook: WebhookRoute, req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > WEBHOOK_BODY_MAX && !refused) {
        refused = true;
        this.log.warn('webhook refused: body too large', { path: hook.path, address: req.socket.remoteAddress });
        res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('too large\n');
        req.destroy();
      } else if (!refused) chunks.push(c);
    });
    req.on('end', () => {
      if (refused) return;
      hook
        .handle({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks), remoteAddress: req.socket.remoteAddress ?? '' })
        .then(
          (a) => res.writeHead(a.status, { 'content-type': 'text/plain', ...a.headers }).end(a.body ?? ''),
          (err: Error) => {
            // Not stored: the carrier retries (it does on a 5xx).
            this.log.error('webhook failed; the carrier will retry', { path: hook.path, error: err.message });
            res.writeHead(500, { 'content-type': 'text/plain' }).end('try again\n');
          },
        );
    });
    req.on('error', () => undefined);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
