// The asterisk-manager package (0.2.0), as mctb uses it. It frames actions, numbers them and
// matches each response to its action's callback; everything else is ours, and every change to
// its behaviour is here:
//
// - Its socket is not exposed. ManagerConnect makes it with `Net.createConnection(port, host)`
//   synchronously inside `manager.connect()`: for that call `net.createConnection` is swapped for
//   one that keeps the socket, so a dead peer can be destroyed (not half-closed) and reading can
//   be paused (back-pressure).
// - Its reader (ManagerReader, the socket's one 'data' listener) keeps an unbounded buffer and
//   copies its line array on every chunk. It is removed and our bounded AmiFrameReader reads the
//   socket; responses go back to the package with `manager.emit('rawevent', frame)`, which is how
//   its own reader hands them to ManagerEvent.
// - The ActionID guard: ManagerEvent emits each response under its ActionID as an event name, so
//   a PBX frame with `ActionID: rawevent` crashed the process (a TypeError thrown from
//   process.nextTick) and `ActionID: close` forced a reconnect (ending every call in progress as
//   unknown_end). The package numbers its actions with digits (Date.now()): only those go back.
// - Its own reconnect (keepConnected) is never used: it cannot recover from some failures (its
//   issues #18, #30) and prints to console.log. One manager per connection (src/link/lifecycle.ts).
//
// test/asterisk/ami-lib.test.ts fails if an upgrade changes what these rely on.

import net from 'node:net';
import type { AmiFrame } from './events';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const AsteriskManager = require('asterisk-manager') as (port?: number, host?: string) => AmiManager;

export interface AmiManager {
  options: { port?: number; host?: string; username: string; password: string; events: boolean };
  connect(port: number, host: string, cb: () => void): void;
  login(cb: (err?: AmiFrame) => void): void;
  /** Sends an action (held until the login is done); returns its ActionID. */
  action(action: Record<string, string>, cb: (err: AmiFrame | undefined, res: AmiFrame) => void): string;
  disconnect(): void;
  on(event: string, fn: (...args: never[]) => void): void;
  emit(event: string, ...args: unknown[]): boolean;
  removeAllListeners(event?: string): void;
}

/** A manager that logs in as `username` with events on; not connected yet. */
export function createManager(username: string, secret: string): AmiManager {
  const manager = AsteriskManager();
  manager.options.username = username;
  manager.options.password = secret;
  manager.options.events = true;
  return manager;
}

/**
 * `manager.connect()`, keeping the socket it makes (undefined if the package made none, which
 * the test of this module catches). `onConnect` runs once the TCP connection is up.
 */
export function connectManager(manager: AmiManager, port: number, host: string, onConnect: () => void): net.Socket | undefined {
  const create = net.createConnection;
  let socket: net.Socket | undefined;
  (net as { createConnection: typeof net.createConnection }).createConnection = ((...args: Parameters<typeof net.createConnection>) => {
    socket = create.apply(net, args);
    return socket;
  }) as typeof net.createConnection;
  try {
    manager.connect(port, host, onConnect);
  } finally {
    (net as { createConnection: typeof net.createConnection }).createConnection = create;
  }
  return socket;
}

/** Our reader in place of the package's: every chunk of the socket goes to `push`. */
export function readSocketWith(socket: net.Socket, push: (text: string) => void): void {
  socket.removeAllListeners('data');
  socket.on('data', (chunk: string | Buffer) => push(typeof chunk === 'string' ? chunk : chunk.toString('utf8')));
}

/** An ActionID the package gave one of our actions (digits), as opposed to one a PBX frame made up. */
export function isManagerActionId(actionid: unknown): actionid is string {
  return typeof actionid === 'string' && /^\d+$/.test(actionid);
}

/**
 * Hands a response frame back to the package, which calls its action's callback. Frames with an
 * ActionID the package did not make are dropped (returns false): see the guard above.
 */
export function answerAction(manager: AmiManager, response: AmiFrame): boolean {
  if (!isManagerActionId(response.actionid)) return false;
  manager.emit('rawevent', response);
  return true;
}
