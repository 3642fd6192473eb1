// The carriers' per-number rate (src/sms/rate.ts PerSender): each sending number has its own
// `tps`, so one busy number never holds up another, and one number's texts wait their turn.

import { expect } from 'chai';
import { PerSender } from '../../src/sms/rate';

describe('PerSender: tps per sending number', () => {
  it("paces one number's texts in order, and lets another number's text go meanwhile", async () => {
    const pace = new PerSender(5); // one text per 200 ms per number
    const order: string[] = [];
    const go = (from: string, tag: string) => pace.take(from).then(() => order.push(tag));
    await Promise.all([go('+15550001000', 'A1'), go('+15550001000', 'A2'), go('+15550001000', 'A3'), go('+15550001009', 'B1')]);
    // B1 does not queue behind A's second and third texts.
    expect(order.indexOf('B1')).to.be.lessThan(order.indexOf('A2'));
    expect(order.filter((t) => t.startsWith('A'))).to.deep.equal(['A1', 'A2', 'A3']);
  });
});
