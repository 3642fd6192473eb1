// The floor for latency: a bare `smpp` client, in a process of its own like `mctb run`, binds to
// the same loopback SMSC and submits one short text at a time, timing each submit_sm →
// submit_sm_resp round trip. Nothing of mctb runs here.
//
// Usage (forked with an IPC channel): node bare-smpp.js PORT COUNT

// eslint-disable-next-line @typescript-eslint/no-require-imports
const smpp = require('smpp') as { connect(opts: Record<string, unknown>): Session };
interface Pdu {
  command_status: number;
}
interface Session {
  on(event: string, fn: (...args: unknown[]) => void): void;
  bind_transceiver(opts: Record<string, unknown>, cb: (pdu: Pdu) => void): void;
  submit_sm(opts: Record<string, unknown>, cb: (pdu: Pdu) => void): void;
  destroy(): void;
}

const [port, count] = process.argv.slice(2).map(Number);
const session = smpp.connect({ host: '127.0.0.1', port });
session.on('error', (err) => {
  process.send?.({ error: String(err) });
  process.exit(1);
});
session.on('connect', () => {
  session.bind_transceiver({ system_id: 'bare', password: 'pw', interface_version: 0x34 }, (resp) => {
    if (resp.command_status !== 0) {
      process.send?.({ error: `bind refused: ${resp.command_status}` });
      process.exit(1);
    }
    const rtts: number[] = [];
    const body = Buffer.from('Hi, this is Brightside Dental. Sorry we missed your call! How can we help?', 'latin1');
    const one = (i: number) => {
      if (i === count) {
        process.send?.({ rtts }, () => process.exit(0));
        return;
      }
      const t = performance.now();
      session.submit_sm(
        // A number range the pipeline never uses: the parent tells these submits apart.
        { source_addr: '15550001000', source_addr_ton: 1, source_addr_npi: 1, destination_addr: `1999${String(i).padStart(7, '0')}`, dest_addr_ton: 1, dest_addr_npi: 1, registered_delivery: 1, data_coding: 0, short_message: body },
        () => {
          rtts.push(performance.now() - t);
          one(i + 1);
        },
      );
    };
    one(0);
  });
});

export {};
