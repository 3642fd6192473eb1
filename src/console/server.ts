// The web console (`console:` in mctb.yaml), served by `mctb run` itself: one process owns the
// ledger and the transport, so a reply typed here goes out through the same outbox as a
// text-back (durable, retried, receipted).
//
// fastify for routing, body limits and hooks; @fastify/helmet for the security headers (a CSP with
// no inline script and frame-ancestors 'none'); @fastify/cookie and @fastify/formbody for cookies
// and forms; eta for templates, which escapes every `<%= %>` by default; htmx (served from its
// npm package, no CDN) for partial updates and server-sent events for live ones. No build step.
// Every route but /login and /assets needs a session; every state-changing one also a same-origin
// request carrying the session's CSRF token (src/console/auth.ts).

import { readFileSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config, ConsoleConfig } from '../config/types';
import type { DaemonEvents } from '../events';
import type { Ledger } from '../ledger/ledger';
import type { Logger } from '../log';
import { Auth, type Viewer } from './auth';
import { LiveHub, type Change } from './live';
import { assetFile, Views } from './views';
import { registerPages, sharedLedger } from './pages';

declare module 'fastify' {
  interface FastifyRequest {
    viewer?: Viewer;
  }
}

export interface ConsoleDeps {
  config: () => Config;
  ledger: Ledger;
  events: EventEmitter<DaemonEvents>;
  /** Wakes the outbox: a text was queued. */
  pokeOutbox: () => void;
  log: Logger;
  clock: () => number;
}

/** What the pages share. */
export interface ConsoleContext extends ConsoleDeps {
  cfg: ConsoleConfig;
  auth: Auth;
  hub: LiveHub;
  views: Views;
  /** Publishes a change to the thread of a business and number (looked up), or to a thread id. */
  changed(business: string, where: number | string, what: Change['what']): Promise<void>;
}

const PUBLIC = new Set(['/login', '/assets/console.css', '/assets/console.js', '/assets/htmx.min.js', '/favicon.ico']);

export class ConsoleServer {
  private app?: FastifyInstance;
  readonly hub: LiveHub;
  /** Every route registered (tests check that each refuses a request without a session). */
  readonly routes: { method: string; url: string; public: boolean }[] = [];

  constructor(private readonly deps: ConsoleDeps) {
    this.hub = new LiveHub(deps.clock);
  }

  async start(): Promise<number> {
    const cfg = this.deps.config().console;
    if (!cfg) throw new Error('console is not configured');
    const https = cfg.tls ? { cert: readTlsFile('console.tls.cert_file', cfg.tls.cert_file), key: readTlsFile('console.tls.key_file', cfg.tls.key_file) } : undefined;
    const app = Fastify({ https: https ?? null, trustProxy: cfg.trust_proxy, bodyLimit: 256 * 1024, logger: false, return503OnClosing: true });
    this.app = app;
    app.addHook('onRoute', (r) => {
      for (const method of ([] as string[]).concat(r.method)) if (method !== 'HEAD') this.routes.push({ method, url: r.url, public: PUBLIC.has(r.url) });
    });
    const auth = new Auth(this.deps.ledger, cfg, () => (sharedLedger(this.deps.config()) ? undefined : this.deps.config().businesses.map((b) => b.name)), this.deps.clock);
    const ctx: ConsoleContext = {
      ...this.deps,
      cfg,
      auth,
      hub: this.hub,
      views: new Views(),
      changed: async (business, where, what) => {
        // Nobody watching: no lookup per call or text; a console that comes back later reloads.
        if (!this.hub.watched) return this.hub.missed();
        const thread = typeof where === 'number' ? where : (await this.deps.ledger.threads.find(business, where))?.id;
        if (thread !== undefined) this.hub.publish({ business, thread, what });
      },
    };
    await app.register(helmet, {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          fontSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
      // HSTS only where the console itself speaks TLS: a plain-HTTP LAN console must stay reachable.
      strictTransportSecurity: cfg.tls ? { maxAge: 15552000 } : false,
      referrerPolicy: { policy: 'same-origin' },
      crossOriginEmbedderPolicy: false,
    });
    await app.register(cookie);
    await app.register(formbody);

    app.addHook('onRequest', async (req, reply) => {
      reply.header('cache-control', 'no-store');
      const path = req.url.split('?')[0];
      if (PUBLIC.has(path)) return;
      const viewer = await auth.viewer(req);
      if (!viewer) {
        if (req.method === 'GET' && !req.headers['hx-request'] && path !== '/events' && path !== '/unread') return reply.redirect('/login', 303);
        return reply.code(401).type('text/plain').send('sign in first\n');
      }
      req.viewer = viewer;
    });
    // After the body is parsed: the CSRF token may be a form field.
    app.addHook('preHandler', async (req, reply) => {
      if (req.method === 'GET' || req.method === 'HEAD') return;
      const refused = auth.forgery(req, req.viewer?.csrf);
      if (refused) {
        this.deps.log.warn('console request refused', { path: req.url.split('?')[0], reason: refused, address: req.ip });
        return reply.code(403).type('text/plain').send(`refused: ${refused}\n`);
      }
    });
    app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status === 500) this.deps.log.error('console request failed', { path: req.url.split('?')[0], error: err.message });
      void reply.code(status).type('text/plain').send(status === 500 ? 'something went wrong; see the mctb log\n' : `${err.message}\n`);
    });
    app.setNotFoundHandler((req, reply) => void reply.code(404).type('text/plain').send('not found\n'));

    for (const [name, type] of [
      ['console.css', 'text/css; charset=utf-8'],
      ['console.js', 'text/javascript; charset=utf-8'],
      ['htmx.min.js', 'text/javascript; charset=utf-8'],
    ] as const) {
      const body = readFileSync(assetFile(name));
      app.get(`/assets/${name}`, (_req, reply) => reply.header('cache-control', 'public, max-age=3600').type(type).send(body));
    }

    this.routeLogin(app, ctx);
    this.routeLive(app, ctx);
    registerPages(app, ctx);
    this.follow(ctx);

    const address = await app.listen({ host: cfg.listen.host, port: cfg.listen.port });
    const port = (app.server.address() as AddressInfo).port;
    this.deps.log.info('console listening', { url: address.replace(/:\d+$/, `:${port}`) });
    return port;
  }

  async stop(): Promise<void> {
    this.unfollow?.();
    // Open event streams would hold close() forever.
    this.app?.server.closeAllConnections?.();
    await this.app?.close();
  }

  private unfollow?: () => void;

  /** The daemon's events, turned into changes of threads for open consoles. */
  private follow(ctx: ConsoleContext): void {
    const e = this.deps.events;
    const log = (err: unknown) => this.deps.log.warn('console could not publish a change', { error: (err as Error).message });
    const onCall: (...a: DaemonEvents['call.decided']) => void = (d) => {
      if (d.business && d.call.number && d.recorded) void ctx.changed(d.business, d.call.number, 'call').catch(log);
    };
    const onSms: (...a: DaemonEvents['sms.received']) => void = (m) => void ctx.changed(m.business, m.number, 'reply').catch(log);
    const onSend = (row: { business: string; number: string; kind: string }) => {
      if (row.kind !== 'staff_alert') void ctx.changed(row.business, row.number, 'text').catch(log);
    };
    const onReceipt: (...a: DaemonEvents['receipt.received']) => void = (_r, matched) => {
      if (matched.sendId === undefined) return;
      // Nobody watching: no ledger read per receipt (a console that comes back later reloads).
      if (!this.hub.watched) return this.hub.missed();
      void this.deps.ledger.sends
        .get(matched.sendId)
        .then((row) => row && onSend(row))
        .catch(log);
    };
    const handlers = [
      ['call.decided', onCall],
      ['sms.received', onSms],
      ['send.submitted', onSend],
      ['send.finished', onSend],
      ['send.retrying', onSend],
      ['receipt.received', onReceipt],
    ] as const;
    for (const [event, fn] of handlers) e.on(event, fn as never);
    this.unfollow = () => {
      for (const [event, fn] of handlers) e.off(event, fn as never);
    };
  }

  private routeLogin(app: FastifyInstance, ctx: ConsoleContext): void {
    app.get('/login', async (req, reply) => {
      if (await ctx.auth.viewer(req)) return reply.redirect('/inbox', 303);
      return ctx.views.page(reply, 'login', { title: 'Sign in' });
    });
    app.post('/login', async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const name = typeof body.name === 'string' ? body.name.trim().slice(0, 100) : '';
      const password = typeof body.password === 'string' ? body.password.slice(0, 1000) : '';
      const result = await ctx.auth.signIn(name, password, req.ip);
      if (!result.ok) {
        this.deps.log.warn('console sign-in refused', { user: name.replace(/[^\w.@-]/g, '?').slice(0, 40), address: req.ip, reason: result.reason });
        const error = result.reason === 'throttled' ? 'Too many failed attempts. Wait a while, then try again.' : 'Wrong user or password.';
        return ctx.views.page(reply.code(result.reason === 'throttled' ? 429 : 401), 'login', { title: 'Sign in', error, name });
      }
      ctx.auth.setCookie(reply, req, result.cookie);
      this.deps.log.info('console sign-in', { user: result.user.name, address: req.ip });
      return reply.redirect('/inbox', 303);
    });
    app.post('/logout', async (req, reply) => {
      if (req.viewer) await ctx.auth.signOut(req.viewer, req.ip);
      ctx.auth.clearCookie(reply, req);
      return reply.redirect('/login', 303);
    });
  }

  /** GET /events: server-sent events of the threads this user may see. */
  private routeLive(app: FastifyInstance, ctx: ConsoleContext): void {
    app.get('/events', (req: FastifyRequest, reply: FastifyReply) => {
      const viewer = req.viewer as Viewer;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write('retry: 2000\n\n');
      const write = (event: string, id: string, data: string) => res.write(`event: ${event}\nid: ${id}\ndata: ${data}\n\n`);
      const header = req.headers['last-event-id'];
      const query = (req.query as Record<string, unknown>).last;
      const last = typeof header === 'string' ? header : typeof query === 'string' ? query : undefined;
      if (!last) write('hello', this.hub.lastId, '{}');
      const unsubscribe = this.hub.subscribe(
        {
          businesses: viewer.businesses && new Set(viewer.businesses),
          send: (id, change) => write('change', id, JSON.stringify(change)),
          reset: () => write('reset', this.hub.lastId, '{}'),
        },
        last,
      );
      // A comment now and then keeps proxies from closing an idle stream, and ends the stream of
      // a session that was signed out or expired meanwhile.
      const beat = setInterval(() => {
        res.write(': ping\n\n');
        void ctx.auth.viewer(req).then(
          (v) => v || res.end(),
          () => undefined,
        );
      }, 15_000);
      req.raw.on('close', () => {
        clearInterval(beat);
        unsubscribe();
      });
    });
    app.get('/unread', async (req) => ({ unread: await ctx.ledger.threads.unreadCount(req.viewer?.businesses) }));
  }
}

/** A TLS file the console needs, or an error that names the key and the file. */
function readTlsFile(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`${key} ${path}: cannot read it (${e.code ?? e.message}): check the path and that the user mctb runs as may read it`);
  }
}
