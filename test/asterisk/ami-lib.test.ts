// The asterisk-manager patches (src/asterisk/ami/manager-lib.ts) against the installed package:
// each fails here, not in production, when an upgrade changes what it hooks.

import { expect } from 'chai';
import net from 'node:net';
import { AmiFrameReader } from '../../src/asterisk/ami/reader';
import { answerAction, connectManager, createManager, isManagerActionId, readSocketWith, type AmiManager } from '../../src/asterisk/ami/manager-lib';
import type { AmiFrame } from '../../src/asterisk/ami/events';
import { AmiReplayServer } from '../../src/demo/ami-replay';
import { waitFor } from '../support/harness';

describe('the asterisk-manager patches (src/asterisk/ami/manager-lib.ts)', function () {
  this.timeout(10_000);
  let server: AmiReplayServer;
  let port: number;
  let socket: net.Socket | undefined;
  beforeEach(async () => {
    server = new AmiReplayServer({ username: 'mctb', secret: 'x' });
    port = await server.listen();
  });
  afterEach(async () => {
    socket?.destroy();
    await server.close();
  });

  /** Connects as the source does: the package's socket caught, our reader on it, responses handed back. */
  async function connected(): Promise<{ manager: AmiManager; events: AmiFrame[]; socket: net.Socket }> {
    const manager = createManager('mctb', 'x');
    manager.on('error', (() => undefined) as never);
    let up = false;
    const createBefore = net.createConnection;
    socket = connectManager(manager, port, '127.0.0.1', () => (up = true));
    expect(net.createConnection, 'net.createConnection restored').to.equal(createBefore);
    expect(socket, 'connect() made its socket with net.createConnection, synchronously').to.be.instanceOf(net.Socket);
    // The package's reader (ManagerReader) is the one 'data' listener: ours replaces it.
    expect(socket!.listenerCount('data')).to.equal(1);
    const events: AmiFrame[] = [];
    const reader = new AmiFrameReader((f) => (f.event !== undefined ? events.push(f) : answerAction(manager, f)));
    readSocketWith(socket!, (text) => reader.push(text));
    expect(socket!.listenerCount('data')).to.equal(1);
    await waitFor('TCP connected', () => up);
    return { manager, events, socket: socket! };
  }

  it('catches the socket, and responses read by our reader reach the action callbacks (login, Ping)', async () => {
    const { manager } = await connected();
    const loginError = await new Promise<AmiFrame | undefined>((resolve) => manager.login((err) => resolve(err)));
    expect(loginError).to.equal(undefined);
    const pong = await new Promise<AmiFrame>((resolve, reject) =>
      manager.action({ action: 'Ping' }, (err, res) => (err ? reject(new Error(String(err.message))) : resolve(res))),
    );
    expect(pong).to.include({ response: 'Success', ping: 'Pong' });
    expect(server.actions.map((a) => a.action.toLowerCase())).to.deep.equal(['login', 'ping']);
  });

  it('a wrong secret comes back as the login callback\'s error', async () => {
    server.options.secret = 'other';
    const { manager } = await connected();
    const loginError = await new Promise<AmiFrame | undefined>((resolve) => manager.login((err) => resolve(err)));
    expect(loginError).to.include({ response: 'Error' });
  });

  it('the ActionID guard: the package numbers its actions with digits and emits each response under its ActionID', async () => {
    const { manager } = await connected();
    await new Promise<AmiFrame | undefined>((resolve) => manager.login((err) => resolve(err)));
    const id = manager.action({ action: 'Ping' }, () => undefined);
    expect(isManagerActionId(id), `ActionID ${id}`).to.equal(true);
    // Why the guard: a response is emitted under its ActionID as an event name, whatever it says.
    let heard = 0;
    manager.on('close', (() => heard++) as never);
    manager.emit('rawevent', { response: 'Success', actionid: 'close' });
    await new Promise((r) => setImmediate(r));
    expect(heard, 'the package emitted "close" for a frame with ActionID: close').to.equal(1);
    // answerAction drops such frames; digits go through.
    expect(answerAction(manager, { response: 'Success', actionid: 'close' })).to.equal(false);
    expect(answerAction(manager, { response: 'Success', actionid: 'rawevent' })).to.equal(false);
    expect(answerAction(manager, { response: 'Success' })).to.equal(false);
    await new Promise((r) => setImmediate(r));
    expect(heard).to.equal(1);
    let answered = false;
    const own = manager.action({ action: 'Ping' }, () => (answered = true));
    expect(answerAction(manager, { response: 'Success', actionid: own })).to.equal(true);
    await waitFor('the action answered', () => answered);
  });
});
