// Dry run: the text goes to the log instead of a gateway. Every rule before it runs for real.

import type { Logger } from '../../log';
import { maskNumber } from '../../numbers/phone';
import type { OutgoingSms, SmsTransport, SubmitResult } from '../transport';

export class LogTransport implements SmsTransport {
  readonly name = 'log';
  readonly ready = true;
  private counter = 0;

  constructor(private readonly log: Logger) {}

  start(): void {}
  async stop(): Promise<void> {}
  onReceipt(): void {}
  onMessage(): void {}

  async submit(sms: OutgoingSms): Promise<SubmitResult> {
    const id = `log-${Date.now().toString(36)}-${++this.counter}`;
    this.log.info('dry run: text not sent (sms.transport: log)', { to: maskNumber(sms.to), from: sms.from, text: sms.text, message_id: id });
    return { kind: 'accepted', messageIds: [id] };
  }
}
