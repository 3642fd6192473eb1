// A small ledger with a bit of everything (calls answered and missed, texts submitted and
// receipted, opt-outs, replies, tasks, a contact, a user, a note, an audit entry, a transport's
// state), written through the ledger's own API: for tests that copy, report or list on both engines.

import type { Ledger } from '../../src/ledger/ledger';

export const T0 = Date.UTC(2026, 10, 2, 15, 0, 0);

export async function fillLedger(l: Ledger): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const number = `+1312555${String(1000 + i)}`;
    const t = T0 + i * 60_000;
    const missed = i % 4 !== 0;
    const res = await l.calls.record(
      { callId: `c${i}`, direction: 'inbound', business: i % 2 ? 'Brightside Dental' : 'Oakwood Vet', did: '+15550001000', number, numberRaw: number.slice(2), callerName: `Caller ${i} <b>`, outcome: missed ? 'noanswer' : 'answered', decision: missed ? 'text' : 'no_text', reason: missed ? 'missed' : 'answered', startedAt: t - 20_000, endedAt: t, recordedAt: t + 5 },
      missed ? { business: i % 2 ? 'Brightside Dental' : 'Oakwood Vet', number, sourceAddr: '+15550001000', body: `Sorry we missed you, caller ${i}`, dueAt: t + 10 } : undefined,
      [],
      missed ? { business: i % 2 ? 'Brightside Dental' : 'Oakwood Vet', number } : undefined,
    );
    if (res.sendId !== undefined && i % 3 !== 0) {
      await l.sends.claim(res.sendId, t + 20);
      await l.sends.markSubmitted(res.sendId, [`msg-${i}-1`, `msg-${i}-2`], t + 30);
      if (i % 5 !== 0) {
        await l.sends.recordReceipt(`msg-${i}-1`, 'delivered', null, t + 40);
        await l.sends.recordReceipt(`msg-${i}-2`, 'delivered', null, t + 41);
      }
    }
    if (i % 7 === 0) await l.optOuts.add(number, i % 2 ? 'Brightside Dental' : '*', 'sms', t + 50);
    if (i % 6 === 1) {
      await l.messages.apply({ message: { business: 'Brightside Dental', number, to: '+15550001000', body: `Can I book for Tuesday? ${i}`, keyword: null, receivedAt: t + 60, carrierId: `SM${i}` }, sends: [], notifications: [] });
    }
  }
  await l.sends.recordReceipt('unmatched-1', 'delivered', null, T0);
  await l.contacts.upsert({ number: '+13125551001', name: 'Ada Lovelace', tags: ['vip'], doNotText: false }, T0);
  const user = await l.users.add({ name: 'Front Desk', role: 'staff', businesses: ['Brightside Dental'], passwordHash: 'scrypt$x' }, T0);
  await l.audit.add({ actor: 'cli', action: 'user_added', subject: user.name }, T0);
  const thread = (await l.threads.list({ limit: 1 }))[0];
  await l.threads.addNote(thread.id, 'Front Desk', 'called back, no answer', T0 + 1);
  await l.transportState.set('cursor', '42');
}

