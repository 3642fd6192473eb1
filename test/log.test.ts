// Log lines: text for people, JSON for log shippers; outside values cannot forge a line.

import { expect } from 'chai';
import Transport from 'winston-transport';
import { createLogger, part } from '../src/log';

function capture(format: 'text' | 'json'): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  class Sink extends Transport {
    override log(info: Record<string | symbol, unknown>, next: () => void): void {
      lines.push(String(info[Symbol.for('message')]));
      next();
    }
  }
  return { lines, log: createLogger({ level: 'info', format, transports: [new Sink()] }) };
}

describe('logging', () => {
  it('text: namespace, message and quoted fields on one line, control characters escaped', () => {
    const { lines, log } = capture('text');
    part(log, 'calls').info('call decided', { caller: '+1******0123', name: 'Evil\nmctb: forged line\u0007', reason: 'missed' });
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^\S+ info  mctb:calls: call decided caller=\+1\*{6}0123 name="Evil\\nmctb: forged line\\u0007" reason=missed$/);
  });

  it('json: one parseable object per line with the namespace and fields', () => {
    const { lines, log } = capture('json');
    part(log, 'smpp').warn('gateway unavailable', { why: 'connection closed' });
    const obj = JSON.parse(lines[0]) as Record<string, string>;
    expect(obj).to.include({ level: 'warn', message: 'gateway unavailable', ns: 'mctb:smpp', why: 'connection closed' });
    expect(obj.timestamp).to.match(/^\d{4}-\d\d-\d\dT/);
    expect(lines[0]).to.not.include('\n');
  });
});
