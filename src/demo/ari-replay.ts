// A loopback ARI server that replays WebSocket frames captured from a real Asterisk. It serves
// what the real `ari-client` needs to connect: the Swagger 1.1 API docs it downloads on connect
// (`/ari/api-docs/resources.json` and each resource listed there), `GET
// /ari/channels/{id}/variable`, and the event WebSocket `/ari/events?app=...`. Frames are sent
// exactly as captured, one text frame per line. Used by the tests and `mctb demo --source ari`.

import http from 'node:http';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { captureDir } from './capture-dir';
import { WebSocket, WebSocketServer } from 'ws';

export interface AriReplayOptions {
  /** Credentials checked on every request (Basic auth, or `api_key=user:pass` as ari-client sends on the WebSocket). */
  username?: string;
  password?: string;
  /** Value for GET /channels/{id}/variable; undefined answers 404, as Asterisk does for a gone channel. */
  getVariable?: (channelId: string, variable: string) => string | undefined;
  /** Do not answer WebSocket pings (a PBX that hangs without closing the socket). */
  ignorePing?: boolean;
  /** Refuse the event WebSocket with 503 (HTTP up, events not: a PBX still starting). */
  refuseEvents?: boolean;
  /** GET /channels: the live channels, as Asterisk lists them (src/demo/captures/ari/ari-channels-ringing.json). Empty when undefined. */
  channels?: () => readonly unknown[];
}

/** One event WebSocket as the client opened it. */
export interface AriConnection {
  app: string;
  /** `subscribeAll` query value as sent ('true'), or null when absent. */
  subscribeAll: string | null;
  /** Every query parameter but the credentials. */
  query: Record<string, string>;
}

export interface AriRequest {
  method: string;
  path: string;
  status: number;
}

export class AriReplayServer extends EventEmitter<{ client: [AriConnection]; request: [AriRequest] }> {
  readonly connections: AriConnection[] = [];
  readonly requests: AriRequest[] = [];
  /** WebSocket pings received from clients. */
  pings = 0;
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<Socket>();
  private readonly clients = new Set<WebSocket>();
  private port = 0;

  constructor(public options: AriReplayOptions = {}) {
    super();
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.wss = new WebSocketServer({ noServer: true, autoPong: false });
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket as Socket, head));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  /** Base URL to give the client: http://127.0.0.1:<port> */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Resolves once an event WebSocket is open (at once if one is). */
  waitForClient(timeoutMs = 10_000): Promise<void> {
    if (this.clients.size > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onClient = (): void => {
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => {
        this.off('client', onClient);
        reject(new Error('no ARI WebSocket client connected'));
      }, timeoutMs);
      this.once('client', onClient);
    });
  }

  /** Sends each line as one text frame, verbatim, to every client; resolves when the sockets have taken them. */
  async play(lines: readonly string[]): Promise<void> {
    await Promise.all(
      [...this.clients].map(async (ws) => {
        for (const line of lines) {
          if (ws.readyState !== WebSocket.OPEN) return;
          await new Promise<void>((resolve) => ws.send(line, () => resolve()));
        }
      }),
    );
  }

  /** Drops every client abruptly (the PBX restarts). The HTTP server keeps listening. */
  dropClients(): void {
    for (const ws of this.clients) ws.terminate();
    this.clients.clear();
  }

  async close(): Promise<void> {
    this.dropClients();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private authorised(req: http.IncomingMessage, url: URL): boolean {
    const { username, password } = this.options;
    if (username === undefined && password === undefined) return true;
    let user: string | undefined;
    let pass: string | undefined;
    const header = req.headers.authorization;
    if (header && /^basic /i.test(header)) {
      const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i >= 0) {
        user = decoded.slice(0, i);
        pass = decoded.slice(i + 1);
      }
    } else {
      const key = url.searchParams.get('api_key');
      const i = key ? key.indexOf(':') : -1;
      if (key && i >= 0) {
        user = key.slice(0, i);
        pass = key.slice(i + 1);
      }
    }
    return (username === undefined || user === username) && (password === undefined || pass === password);
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, body: unknown): void => {
      this.note(req.method ?? 'GET', url.pathname, status);
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (!this.authorised(req, url)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="Asterisk REST Interface"');
      send(401, { error: 'Authentication required' });
      return;
    }
    const basePath = `http://${req.headers.host ?? `127.0.0.1:${this.port}`}/ari`;
    const docs = /^\/ari\/api-docs\/([A-Za-z]+)\.json$/.exec(url.pathname);
    if (req.method === 'GET' && docs) {
      const doc = apiDoc(docs[1], basePath);
      if (doc) send(200, doc);
      else send(404, { message: 'Resource not found' });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/ari/channels') {
      send(200, this.options.channels?.() ?? []);
      return;
    }
    const variable = /^\/ari\/channels\/([^/]+)\/variable$/.exec(url.pathname);
    if (req.method === 'GET' && variable) {
      const name = url.searchParams.get('variable');
      if (!name) {
        send(400, { message: 'Variable name is required' });
        return;
      }
      const value = this.options.getVariable?.(decodeURIComponent(variable[1]), name);
      if (value === undefined) send(404, { message: 'Channel or variable not found' });
      else send(200, { value });
      return;
    }
    send(404, { message: 'Not found' });
  }

  private onUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const refuse = (status: number, text: string): void => {
      this.note('GET', url.pathname, status);
      socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    };
    if (url.pathname !== '/ari/events') return refuse(404, 'Not Found');
    if (!this.authorised(req, url)) return refuse(401, 'Unauthorized');
    const app = url.searchParams.get('app');
    if (!app) return refuse(400, 'Bad Request');
    if (this.options.refuseEvents) return refuse(503, 'Service Unavailable');
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.note('GET', url.pathname, 101);
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) if (k !== 'api_key') query[k] = v;
      const connection: AriConnection = { app, subscribeAll: url.searchParams.get('subscribeAll'), query };
      this.connections.push(connection);
      this.clients.add(ws);
      ws.on('close', () => this.clients.delete(ws));
      ws.on('error', () => undefined);
      ws.on('ping', (data) => {
        this.pings++;
        if (!this.options.ignorePing && ws.readyState === WebSocket.OPEN) ws.pong(data);
      });
      this.emit('client', connection);
    });
  }

  private note(method: string, path: string, status: number): void {
    const r = { method, path, status };
    this.requests.push(r);
    this.emit('request', r);
  }
}

// ---- Swagger 1.1 API docs, the shape Asterisk serves (rest-api/api-docs/*.json), cut down to
// what mctb uses. ari-client builds `client.<resource>.<nickname>()` from these.

const CHANNEL_ID_PARAM = { name: 'channelId', description: "Channel's id", paramType: 'path', required: true, allowMultiple: false, dataType: 'string' };

function apiDoc(name: string, basePath: string): Record<string, unknown> | undefined {
  const common = { _copyright: 'Copyright (C) 2012 - 2013, Digium, Inc.', apiVersion: '9.0.0', swaggerVersion: '1.1', basePath };
  switch (name) {
    case 'resources':
      return {
        ...common,
        apis: [
          { path: '/api-docs/channels.{format}', description: 'Channel resources' },
          { path: '/api-docs/events.{format}', description: 'WebSocket resource' },
        ],
      };
    case 'channels':
      return {
        ...common,
        resourcePath: '/api-docs/channels.{format}',
        apis: [
          {
            path: '/channels',
            description: 'Active channels',
            operations: [{ httpMethod: 'GET', summary: 'List all active channels in Asterisk.', nickname: 'list', responseClass: 'List[Channel]' }],
          },
          {
            path: '/channels/{channelId}',
            description: 'Active channel',
            operations: [
              {
                httpMethod: 'GET',
                summary: 'Channel details.',
                nickname: 'get',
                responseClass: 'Channel',
                parameters: [CHANNEL_ID_PARAM],
                errorResponses: [{ code: 404, reason: 'Channel not found' }],
              },
            ],
          },
          {
            path: '/channels/{channelId}/variable',
            description: 'Variables on a channel',
            operations: [
              {
                httpMethod: 'GET',
                summary: 'Get the value of a channel variable or function.',
                nickname: 'getChannelVar',
                responseClass: 'Variable',
                parameters: [
                  CHANNEL_ID_PARAM,
                  { name: 'variable', description: 'The channel variable or function to get', paramType: 'query', required: true, allowMultiple: false, dataType: 'string' },
                ],
                errorResponses: [
                  { code: 400, reason: 'Missing variable parameter.' },
                  { code: 404, reason: 'Channel or variable not found' },
                  { code: 409, reason: 'Channel not in a Stasis application' },
                ],
              },
            ],
          },
        ],
        models: {
          Variable: {
            id: 'Variable',
            description: 'The value of a channel variable',
            properties: { value: { required: true, type: 'string', description: 'The value of the variable requested' } },
          },
          Channel: {
            id: 'Channel',
            description: 'A specific communication connection between Asterisk and an Endpoint.',
            properties: {
              id: { required: true, type: 'string', description: 'Unique identifier of the channel.' },
              name: { required: true, type: 'string', description: 'Name of the channel (i.e. SIP/foo-0000a7e3)' },
              state: { required: true, type: 'string' },
              creationtime: { required: true, type: 'Date', description: 'Timestamp when channel was created' },
            },
          },
        },
      };
    case 'events':
      return {
        ...common,
        resourcePath: '/api-docs/events.{format}',
        apis: [
          {
            path: '/events',
            description: 'Events from Asterisk to applications',
            operations: [
              {
                httpMethod: 'GET',
                upgrade: 'websocket',
                websocketProtocol: 'ari',
                summary: 'WebSocket connection for events.',
                nickname: 'eventWebsocket',
                responseClass: 'Message',
                parameters: [
                  { name: 'app', description: 'Applications to subscribe to.', paramType: 'query', required: true, allowMultiple: true, dataType: 'string' },
                  { name: 'subscribeAll', description: 'Subscribe to all Asterisk events.', paramType: 'query', required: false, allowMultiple: false, dataType: 'boolean' },
                ],
              },
            ],
          },
        ],
        models: {
          Message: {
            id: 'Message',
            description: 'Base type for errors and events',
            discriminator: 'type',
            properties: { type: { type: 'string', required: true, description: 'Indicates the type of this message.' } },
          },
        },
      };
    default:
      return undefined;
  }
}

/** Where the ARI captures live: shipped with the package for `mctb demo`. */
export const ARI_CAPTURE_DIR = captureDir('ari');

/** The frames of `ari-<name>.jsonl`, one per line, verbatim (empty lines dropped). */
export function loadAriCapture(name: string, dir = ARI_CAPTURE_DIR): string[] {
  return readFileSync(join(dir, `ari-${name}.jsonl`), 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.length > 0);
}

/**
 * Makes a capture into a new call (as rewriteCapture does for AMI): channel ids "<epoch>.<seq>"
 * and the PBX timestamps moved by `shiftSeconds`, and numbers swapped as given.
 */
export function rewriteAriCapture(lines: readonly string[], shiftSeconds: number, numbers: Readonly<Record<string, string>> = {}): string[] {
  return lines.map((line) => {
    let out = line
      .replace(/\b(1\d{9})\.(\d+)\b/g, (_m, epoch: string, seq: string) => `${Number(epoch) + shiftSeconds}.${seq}`)
      .replace(/"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\+0000"/g, (m, iso: string) => {
        const ms = Date.parse(`${iso}Z`);
        return Number.isFinite(ms) ? `"${new Date(ms + shiftSeconds * 1000).toISOString().slice(0, 23)}+0000"` : m;
      });
    for (const [from, to] of Object.entries(numbers)) out = out.split(from).join(to);
    return out;
  });
}
