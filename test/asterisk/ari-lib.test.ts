// The ari-client / swagger-client patches (src/asterisk/ari/client-lib.ts) against the installed
// packages: each fails here, not in production, when an upgrade changes what it hooks.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { AriReplayServer } from '../../src/demo/ari-replay';
import { loadAri, retire, setAriLog, swaggerClient, trapSocket, type AriClient, type WsLike } from '../../src/asterisk/ari/client-lib';
import { sleep, testLogger, waitFor } from '../support/harness';

const ARI_USER = { username: 'mctb', password: 'mctb-secret' };

describe('the ari-client patches (src/asterisk/ari/client-lib.ts)', function () {
  this.timeout(15_000);

  it('swagger-client: SwaggerApi.prototype.fail is patched to report without throwing', () => {
    loadAri();
    const proto = swaggerClient().SwaggerApi?.prototype;
    expect(proto, 'swagger-client exports SwaggerApi where ari-client finds it').to.be.an('object');
    expect(proto!.__mctbPatched, 'the patch was applied').to.equal(true);
    const reported: unknown[] = [];
    expect(() => (proto!.fail as (m: unknown) => void).call({ failure: (m: unknown) => reported.push(m) }, 'Unauthorized')).not.to.throw();
    expect(reported).to.deep.equal(['Unauthorized']);
  });

  it('swagger-client: its global log goes to the debug log, not to console.log', () => {
    loadAri();
    const { logger, lines } = testLogger();
    setAriLog(logger);
    const log = (globalThis as unknown as { log?: (...args: unknown[]) => void }).log;
    expect(log, 'swagger-client defines a global log').to.be.a('function');
    log!('deprecated version of Swagger', { v: 1.1 });
    expect(lines.some((l) => /swagger-client/.test(l) && /deprecated version of Swagger \{"v":1\.1\}/.test(l)), lines.join('\n')).to.equal(true);
  });

  it('ari-client keeps its event WebSocket in client._ws, makes a new one on each of its retries, and honours _wsClosed', () => {
    const source = readFileSync(require.resolve('ari-client/lib/client.js'), 'utf8');
    expect(source).to.include('self._ws = new WebSocket(');
    expect(source).to.include('if (self._wsClosed)');
  });

  it('a trapped client: its socket is client._ws; retired, the socket closes and any later one is killed at once', async () => {
    const server = new AriReplayServer(ARI_USER);
    await server.listen();
    try {
      const client: AriClient = await loadAri().connect(server.url, ARI_USER.username, ARI_USER.password);
      trapSocket(client);
      let opened = false;
      client.on('WebSocketConnected', (() => (opened = true)) as never);
      client.start('mctb', true).catch(() => undefined);
      await waitFor('the event WebSocket', () => opened && server.clientCount === 1);
      const ws = client._ws;
      expect(ws, 'client._ws').to.be.an('object');
      for (const method of ['terminate', 'ping', 'on', 'removeAllListeners'] as const) expect(ws![method], method).to.be.a('function');
      expect(ws!._socket?.pause, 'ws 6 exposes its socket (back-pressure)').to.be.a('function');

      retire(client);
      await waitFor('the server sees it go', () => server.clientCount === 0);
      expect(client._wsClosed).to.equal(true);
      let killed = 0;
      const late: WsLike = { readyState: 0, on: () => undefined, removeAllListeners: () => undefined, terminate: () => killed++, ping: () => undefined };
      client._ws = late; // as ari-client's pending retry would
      expect(killed).to.equal(1);
      await sleep(300);
      expect(server.connections).to.have.length(1);
    } finally {
      await server.close();
    }
  });
});
