// A start that fails half-way (here the health server's port is taken, after the ledger, the SMS
// transport and the PBX source have started) stops the parts already started and closes the
// ledger before the error reaches the caller: nothing keeps running behind a failed start.

import { expect } from 'chai';
import net from 'node:net';
import { Daemon } from '../../src/daemon';
import { AmiReplayServer } from '../../src/demo/ami-replay';
import { LoopbackSmsc } from '../../src/demo/loopback-smsc';
import { Ledger } from '../../src/ledger/ledger';
import { sleep, tempDir, testConfig, testLogger, waitFor } from '../support/harness';

describe('daemon: a start that fails half-way', function () {
  this.timeout(30_000);

  it('stops the transport, the PBX source and the ledger it had started, then throws', async () => {
    const { dir, cleanup } = tempDir();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const pbx = new AmiReplayServer({ getvar: () => 'allowed_not_screened' });
    const smsc = new LoopbackSmsc();
    try {
      const amiPort = await pbx.listen();
      const smppPort = await smsc.listen(0);
      const config = testConfig({ dir, amiPort, smppPort, top: { http: { listen: `127.0.0.1:${port}` } } });
      const { logger, lines } = testLogger();
      const daemon = new Daemon(config, logger);
      let error: Error | undefined;
      await daemon.start().catch((err: Error) => (error = err));
      expect(error?.message).to.match(/EADDRINUSE|in use/i);
      expect(lines.some((l) => l.includes('mctb could not start; stopping the parts already started'))).to.equal(true);
      expect(lines.some((l) => l.includes('mctb stopped'))).to.equal(true);
      // Nothing is left connected, nor reconnects.
      await waitFor('PBX connection closed', () => pbx.clientCount === 0);
      await waitFor('SMPP session closed', () => smsc.sessionCount === 0);
      await sleep(1500);
      expect(pbx.clientCount).to.equal(0);
      expect(smsc.sessionCount).to.equal(0);
      // The ledger was closed: it opens again, and a second stop is harmless.
      await daemon.stop();
      const again = await Ledger.open(config.ledger.path);
      await again.close();
    } finally {
      taken.close();
      await pbx.close();
      await smsc.close().catch(() => undefined);
      cleanup();
    }
  });
});
