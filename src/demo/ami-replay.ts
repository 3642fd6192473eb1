// A loopback AMI server that replays byte streams captured from a real Asterisk. It speaks
// enough of the protocol for a real client: the banner, Login, Ping, Getvar, Status and Logoff;
// the events themselves are written exactly as captured. Used by `mctb demo`, the tests and the
// benchmarks.

import net from 'node:net';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { captureDir } from './capture-dir';

export interface ReplayOptions {
  username?: string;
  secret?: string;
  /** Value for `Getvar`; undefined answers an error, as Asterisk does for a gone channel. */
  getvar?: (channel: string, variable: string) => string | undefined;
  /** Do not answer Ping (a PBX that hangs without closing the socket). */
  ignorePing?: boolean;
  /**
   * The live channels `Status` lists: each an `Event: Status` block as Asterisk writes it (its
   * ActionID is replaced by the request's), e.g. cut from src/demo/captures/ami/ami-inventory-*.txt.
   * None when undefined: Asterisk then answers with an empty list.
   */
  channels?: () => readonly string[];
  /** Answer Status with this error (a user without the `call` write class). */
  refuseStatus?: string;
}

export type AmiAction = Record<string, string>;

export class AmiReplayServer extends EventEmitter<{ action: [AmiAction]; login: [] }> {
  readonly actions: AmiAction[] = [];
  private readonly server: net.Server;
  private readonly clients = new Set<net.Socket>();
  private readonly loggedIn = new Set<net.Socket>();

  constructor(public options: ReplayOptions = {}) {
    super();
    this.server = net.createServer((socket) => this.onClient(socket));
  }

  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve((this.server.address() as net.AddressInfo).port));
    });
  }

  get clientCount(): number {
    return this.loggedIn.size;
  }

  /** Resolves once a client has logged in (at once if one is). */
  waitForLogin(timeoutMs = 10_000): Promise<void> {
    if (this.loggedIn.size > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no AMI client logged in')), timeoutMs);
      this.once('login', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Writes bytes to every logged-in client; resolves when the socket has taken them. */
  async play(stream: string | Buffer): Promise<void> {
    await Promise.all(
      [...this.loggedIn].map(
        (s) => new Promise<void>((resolve) => (s.writable ? s.write(stream, () => resolve()) : resolve())),
      ),
    );
  }

  /** Drops every client (the PBX restarts). */
  dropClients(): void {
    for (const s of this.clients) s.destroy();
    this.clients.clear();
    this.loggedIn.clear();
  }

  async close(): Promise<void> {
    this.dropClients();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onClient(socket: net.Socket): void {
    this.clients.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => {
      this.clients.delete(socket);
      this.loggedIn.delete(socket);
    });
    socket.on('error', () => undefined);
    socket.write('Asterisk Call Manager/11.0.0\r\n');
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let end;
      while ((end = buffer.indexOf('\r\n\r\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 4);
        this.onAction(socket, parseAction(frame));
      }
    });
  }

  private onAction(socket: net.Socket, action: AmiAction): void {
    this.actions.push(action);
    this.emit('action', action);
    const id = action.actionid ? `ActionID: ${action.actionid}\r\n` : '';
    const reply = (lines: string) => socket.writable && socket.write(`${lines.startsWith('Response') ? lines.replace('\r\n', `\r\n${id}`) : lines}\r\n`);
    switch ((action.action ?? '').toLowerCase()) {
      case 'login': {
        const ok = (this.options.username === undefined || action.username === this.options.username) && (this.options.secret === undefined || action.secret === this.options.secret);
        if (!ok) {
          reply('Response: Error\r\nMessage: Authentication failed\r\n');
          return;
        }
        reply('Response: Success\r\nMessage: Authentication accepted\r\n');
        this.loggedIn.add(socket);
        this.emit('login');
        return;
      }
      case 'ping':
        if (!this.options.ignorePing) reply(`Response: Success\r\nPing: Pong\r\nTimestamp: ${(Date.now() / 1000).toFixed(6)}\r\n`);
        return;
      case 'getvar': {
        const value = this.options.getvar?.(action.channel ?? '', action.variable ?? '');
        if (value === undefined) reply('Response: Error\r\nMessage: No such channel\r\n');
        else reply(`Response: Success\r\nVariable: ${action.variable}\r\nValue: ${value}\r\n`);
        return;
      }
      case 'status': {
        if (this.options.refuseStatus) {
          reply(`Response: Error\r\nMessage: ${this.options.refuseStatus}\r\n`);
          return;
        }
        const items = this.options.channels?.() ?? [];
        reply('Response: Success\r\nEventList: start\r\nMessage: Channel status will follow\r\n');
        // Each block as captured, under this request's ActionID (Asterisk writes it last).
        for (const item of items) {
          const block = item.trimEnd().replace(/\r\nActionID: [^\r\n]*/, '') + (id ? `\r\n${id.trimEnd()}` : '');
          if (socket.writable) socket.write(`${block}\r\n\r\n`);
        }
        if (socket.writable) socket.write(`Event: StatusComplete\r\n${id}EventList: Complete\r\nListItems: ${items.length}\r\nItems: ${items.length}\r\n\r\n`);
        return;
      }
      case 'logoff':
        reply('Response: Goodbye\r\nMessage: Thanks for all the fish.\r\n');
        socket.end();
        return;
      default:
        reply('Response: Error\r\nMessage: Invalid/unknown command\r\n');
    }
  }
}

function parseAction(frame: string): AmiAction {
  const out: AmiAction = {};
  for (const line of frame.split(/\r\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

/**
 * The events of a capture file: its banner and login response removed (the replay server makes
 * its own), every other byte as captured.
 */
export function captureEvents(capture: string): string {
  return capture
    .replace(/^Asterisk Call Manager\/[^\r\n]*\r\n/, '')
    .replace(/^Response: Success\r\n(?:ActionID: [^\r\n]*\r\n)?Message: Authentication accepted\r\n\r\n/, '');
}

/** Where the captures live: shipped with the package for `mctb demo`. */
export const CAPTURE_DIR = captureDir('ami');

export function loadCapture(name: string, dir = CAPTURE_DIR): string {
  return captureEvents(readFileSync(join(dir, `ami-${name}.txt`), 'utf8'));
}

/**
 * Makes a capture into a new call: Uniqueid/Linkedid epochs moved by `shiftSeconds` (so the PBX
 * ids are new), and numbers swapped as given. Used to replay one real call as many.
 */
export function rewriteCapture(events: string, shiftSeconds: number, numbers: Readonly<Record<string, string>> = {}): string {
  let out = events.replace(/\b(1\d{9})\.(\d+)\b/g, (_m, epoch: string, seq: string) => `${Number(epoch) + shiftSeconds}.${seq}`);
  for (const [from, to] of Object.entries(numbers)) out = out.split(from).join(to);
  return out;
}

/**
 * The `Event: Status` blocks of a capture that answered `Status` with ActionID `actionId`, for
 * ReplayOptions.channels.
 */
export function statusBlocks(capture: string, actionId: string): string[] {
  return capture
    .split(/\r\n\r\n/)
    .filter((block) => block.startsWith('Event: Status\r\n') && block.split('\r\n').includes(`ActionID: ${actionId}`));
}
