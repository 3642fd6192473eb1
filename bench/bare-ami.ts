// The floor for ingest: a bare asterisk-manager client, in a process of its own like `mctb run`,
// that logs in and only counts `managerevent`s. The parent streams the same bytes from the same
// server to it as to the pipeline; this process tells the parent when it has seen them all.
//
// Usage (forked with an IPC channel): node bare-ami.js PORT EXPECTED_EVENTS

// eslint-disable-next-line @typescript-eslint/no-require-imports
const AsteriskManager = require('asterisk-manager') as (
  port: number,
  host: string,
  username: string,
  password: string,
  events: boolean,
) => { on(event: string, fn: (...args: unknown[]) => void): void; disconnect(): void };

const [port, expected] = process.argv.slice(2).map(Number);
const ami = AsteriskManager(port, '127.0.0.1', 'mctb', 's3cret', true);
let seen = 0;
ami.on('managerevent', () => {
  if (++seen === expected) process.send?.({ done: seen });
});
ami.on('error', () => undefined);
process.on('disconnect', () => process.exit(0));

export {};
