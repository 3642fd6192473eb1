// `mctb send-test NUMBER [--business NAME]`: renders the business's text-back as a caller would
// get it right now (open or closed hours), sends it at once through the configured transport
// (its entry in src/adapters.ts: SMPP, the GSM modem, or the dry run) and follows it: bind,
// submit, delivery receipt. Recorded in the ledger as a `manual` send, so it shows in `mctb sends`. Exit 0 submitted (and delivered, when a receipt came), 1 otherwise.

import { sourceOf } from '../plans/call';
import { countSegments } from '../messages/encoding';
import { createLogger } from '../log';
import { toE164 } from '../numbers/phone';
import { composeTextBack } from '../policy/compose';
import { isOpenAt } from '../policy/hours';
import type { Ledger } from '../ledger/ledger';
import type { SendRow } from '../records/rows';
import { TRANSPORTS } from '../adapters';
import type { SmsTransport, TransportEntry } from '../sms/transport';
import { withLedger } from './read-config';

export const RECEIPT_TIMEOUT_MS = 30_000;
/**
 * The test text is due this far ahead when recorded and taken for sending at once: a daemon
 * running on the same ledger never picks it up meanwhile.
 */
const CLAIM_AHEAD_MS = 60_000;

export interface SendTestOptions {
  config?: string;
  business?: string;
  receiptTimeoutMs?: number;
}


function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function sendTest(numberArg: string, opts: SendTestOptions, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger, config) => {
      const b = opts.business === undefined ? config.businesses[0] : config.businesses.find((x) => x.name === opts.business);
      if (!b) {
        err.write(`mctb send-test: no business named "${opts.business}" (businesses: ${config.businesses.map((x) => x.name).join(', ')})\n`);
        return 2;
      }
      const number = toE164(numberArg, b.country);
      if (!number) {
        err.write(`mctb send-test: "${numberArg}" is not a phone number\n`);
        return 2;
      }
      if (await ledger.optOuts.has(number, b.name)) {
        err.write(`mctb send-test: ${number} opted out of ${b.name}; mctb never texts it (\`mctb optout remove ${number}\` if that is wrong)\n`);
        return 1;
      }
      const now = Date.now();
      const kind = isOpenAt(b, now) ? 'open' : 'closed';
      const contact = await ledger.contacts.get(number);
      const text = composeTextBack(b, { callerName: contact?.caller_id_name ?? '', number, endedAt: now }, { contactName: contact?.name ?? undefined, messageKind: kind, now });
      const seg = countSegments(text);
      // With sms_from: dialled, a test goes from the business's first DID.
      const from = sourceOf(b, config, b.dids[0]);
      out.write(`${b.name}, ${kind} hours now: ${JSON.stringify(text)}\n  ${seg.encoding}, ${seg.segments} segment${seg.segments === 1 ? '' : 's'}; from ${from} to ${number}\n`);

      const record = async (): Promise<number | undefined> => {
        const id = await ledger.sends.schedule({ business: b.name, number, sourceAddr: from, body: text, dueAt: Date.now() + CLAIM_AHEAD_MS, kind: 'manual' }, Date.now());
        if (await ledger.sends.claim(id, Date.now())) return id;
        out.write(`send ${id} was taken by another process; see \`mctb sends\`\n`);
        return undefined;
      };

      const entry: TransportEntry<unknown> = TRANSPORTS[config.sms.transport];
      const words = entry.sendTest;
      if (!words) {
        // The dry run: nothing to send it through; recorded as if the log transport took it.
        const id = await record();
        if (id === undefined) return 1;
        const messageId = `log-${Date.now().toString(36)}`;
        await ledger.sends.markSubmitted(id, [messageId], Date.now());
        out.write(`dry run (sms.transport: ${entry.name}): not sent, recorded as send ${id} (message id ${messageId})\n`);
        return 0;
      }
      const settings = entry.settings(config);
      if (settings === undefined) return missing(err, entry.section ?? 'sms');
      const transport = entry.create(settings, createLogger({ level: 'warn', format: config.log.format }));
      const steps = { starting: words.starting(settings), ready: words.ready, readyMs: words.readyMs, hint: words.hint };
      return sendNow(ledger, transport, steps, { number, from, text }, record, opts.receiptTimeoutMs ?? RECEIPT_TIMEOUT_MS, out);
    },
    err,
  );
}

function missing(err: NodeJS.WritableStream, key: string): number {
  err.write(`mctb send-test: ${key} is missing from the config\n`);
  return 2;
}

/**
 * Starts the transport, waits (bounded) until it can send, records and submits the text, then
 * waits for its delivery receipt. The transport's own warnings (bind refused, port lost) go to
 * stderr.
 */
async function sendNow(
  ledger: Ledger,
  transport: SmsTransport,
  words: { starting: string; ready: string; readyMs: number; hint: string },
  sms: { number: string; from: string; text: string },
  record: () => Promise<number | undefined>,
  receiptTimeoutMs: number,
  out: NodeJS.WritableStream,
): Promise<number> {
  let last = '';
  transport.events?.on('state', (state, detail) => (last = `${state}: ${detail}`));
  let sendId: number | undefined;
  let wake: (() => void) | undefined;
  // Receipts for any text (the daemon's too, when the gateway hands them to this session) are
  // stored, as the daemon would; ours wakes the wait below.
  transport.onReceipt(async (r) => {
    const matched = await ledger.sends.recordReceipt(r.messageId, r.state, r.error, Date.now());
    if (matched.sendId !== undefined && matched.sendId === sendId) wake?.();
  });
  // An incoming text is not ours to take: refused, the gateway delivers it again (to `mctb run`).
  transport.onMessage(async () => {
    throw new Error('mctb send-test does not take incoming texts');
  });

  out.write(`${words.starting}\n`);
  transport.start();
  try {
    const until = Date.now() + words.readyMs;
    // A refused connection or an unknown host will not change in the seconds left: said at once.
    const hopeless = () => /\((ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH)\)/.exec(last);
    while (!transport.ready && Date.now() < until && !hopeless()) await sleep(50);
    if (!transport.ready) {
      const detail = last.replace(/^[a-z]+: /, '');
      out.write(hopeless() ? `not ${words.ready}: ${detail}; ${words.hint}\n` : `not ${words.ready} within ${words.readyMs / 1000} s${last ? ` (${last})` : ''}; ${words.hint}\n`);
      return 1;
    }
    out.write(`${words.ready}\n`);
    sendId = await record();
    if (sendId === undefined) return 1;
    const result = await transport.submit({ to: sms.number, from: sms.from, text: sms.text, reference: sendId & 0xff });
    if (result.kind !== 'accepted') {
      await ledger.sends.finish(sendId, 'failed', result.kind === 'failed' ? 'gateway_rejected' : 'gateway_unavailable', Date.now(), result.error);
      out.write(`not submitted: ${result.error} (send ${sendId} marked failed)\n`);
      return 1;
    }
    await ledger.sends.markSubmitted(sendId, result.messageIds, Date.now());
    out.write(`submitted (message id ${result.messageIds.join(', ')}; send ${sendId})\n`);

    // Wait for the send to be final: from a receipt on this session, or one the daemon stored.
    const deadline = Date.now() + receiptTimeoutMs;
    let row: SendRow | undefined;
    for (;;) {
      row = await ledger.sends.get(sendId);
      if (row && (row.state === 'delivered' || row.state === 'failed')) break;
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
    if (row?.state === 'delivered') {
      out.write('delivered\n');
      return 0;
    }
    if (row?.state === 'failed') {
      out.write(`not delivered: ${row.reason ?? 'failed'}${row.error ? ` (error ${row.error})` : ''}\n`);
      return 1;
    }
    out.write(`no receipt within ${Math.round(receiptTimeoutMs / 1000)}s (it may come later: \`mctb run\` records it; see \`mctb sends\`)\n`);
    return 0;
  } finally {
    await transport.stop(2000);
  }
}
