// Texts people send us: the parts of a concatenated text until the last arrives, and each whole
// message written in one transaction with everything it causes (an opt-out, replies, alerts).

import type { InboundEffects, MessageRow } from '../records/rows';
import { insertNotification } from './notifications';
import { insertSend } from './sends';
import type { LedgerDb } from './db';

export class Messages {
  constructor(private readonly db: LedgerDb) {}

  /**
   * Stores one part of a concatenated incoming text; returns the whole text once every part is
   * in (and forgets the parts), else undefined. Parts survive restarts.
   */
  storePart(from: string, to: string, part: { ref: number; total: number; seq: number }, text: string, now: number): Promise<string | undefined> {
    return this.db.transaction(async (s) => {
      await s.run(`INSERT OR IGNORE INTO inbound_parts (from_addr, to_addr, ref, total, seq, text, received_at) VALUES (?,?,?,?,?,?,?)`, [from, to, part.ref, part.total, part.seq, text, now]);
      const key = [from, to, part.ref, part.total];
      const parts = await s.all<{ text: string }>(`SELECT text FROM inbound_parts WHERE from_addr = ? AND to_addr = ? AND ref = ? AND total = ? ORDER BY seq`, key);
      if (parts.length < part.total) return undefined;
      await s.run(`DELETE FROM inbound_parts WHERE from_addr = ? AND to_addr = ? AND ref = ? AND total = ?`, key);
      return parts.map((p) => p.text).join('');
    });
  }

  /** Applies an incoming text and everything it causes, atomically; returns the message id. */
  apply(e: InboundEffects): Promise<number> {
    return this.db.transaction(async (s) => {
      const m = e.message;
      const res = await s.run(`INSERT INTO messages (business, number, to_addr, body, keyword, received_at, carrier_id) VALUES (?,?,?,?,?,?,?)`, [m.business, m.number, m.to, m.body, m.keyword, m.receivedAt, m.carrierId ?? null]);
      if (e.optOut) await s.run(`INSERT OR IGNORE INTO opt_outs (number, business, source, created_at) VALUES (?,?,?,?)`, [m.number, e.optOut.scope, 'sms', m.receivedAt]);
      if (e.optIn) {
        await s.run(e.optIn.scope === '*' ? `DELETE FROM opt_outs WHERE number = ?` : `DELETE FROM opt_outs WHERE number = ? AND business IN (?, '*')`, e.optIn.scope === '*' ? [m.number] : [m.number, e.optIn.scope]);
      }
      if (e.cancelScheduled) {
        const all = e.cancelScheduled.scope === '*';
        await s.run(
          `UPDATE sends SET state = 'cancelled', reason = ?, finished_at = ?, updated_at = ?
           WHERE state = 'scheduled' AND number = ? AND kind IN ('text_back','follow_up') ${all ? '' : 'AND business = ?'}`,
          all ? [e.cancelScheduled.reason, m.receivedAt, m.receivedAt, m.number] : [e.cancelScheduled.reason, m.receivedAt, m.receivedAt, m.number, e.cancelScheduled.scope],
        );
      }
      if (e.relayedTo) await s.run(`UPDATE threads SET unread = 0 WHERE business = ? AND number = ?`, [e.relayedTo.business, e.relayedTo.number]);
      for (const send of e.sends) await insertSend(s, null, send, m.receivedAt, this.db.site);
      for (const n of e.notifications) await insertNotification(s, n, m.receivedAt);
      return res.lastID;
    });
  }

  /** Whether the text with this carrier id is stored already (a retried webhook, a webhook and a poll). */
  async seen(carrierId: string): Promise<boolean> {
    return (await this.db.get(`SELECT 1 FROM messages WHERE carrier_id = ?`, [carrierId])) !== undefined;
  }

  /** A number's latest texts, newest first. */
  list(number: string, limit = 20): Promise<MessageRow[]> {
    return this.db.all<MessageRow>(`SELECT id, business, body, keyword, received_at FROM messages WHERE number = ? ORDER BY received_at DESC, id DESC LIMIT ?`, [number, limit]);
  }
}
