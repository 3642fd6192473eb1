// Staff notifications posted to webhooks: stored with the event that causes them, retried from
// here until delivered or given up (src/notify/webhook.ts posts them).

import type { NewNotification, NotificationRow } from '../records/rows';
import type { LedgerDb, Statements } from './db';

export class Notifications {
  constructor(private readonly db: LedgerDb) {}

  async enqueue(list: readonly NewNotification[], now: number): Promise<void> {
    if (list.length === 0) return;
    await this.db.transaction(async (s) => {
      for (const n of list) await insertNotification(s, n, now);
    });
  }

  /** Notifications due by `now`; with `businesses`, only theirs (the businesses this daemon serves, in a shared ledger). */
  due(now: number, limit = 20, businesses?: readonly string[]): Promise<NotificationRow[]> {
    const mine = businesses === undefined ? '' : `AND business IN (${businesses.map(() => '?').join(',') || 'NULL'})`;
    return this.db.all<NotificationRow>(`SELECT * FROM notifications WHERE state = 'pending' AND next_attempt_at <= ? ${mine} ORDER BY next_attempt_at, id LIMIT ?`, [now, ...(businesses ?? []), limit]);
  }

  async mark(id: number, outcome: { state: 'delivered' } | { state: 'pending'; nextAttemptAt: number; error: string } | { state: 'failed'; error: string }, now: number): Promise<void> {
    if (outcome.state === 'delivered') await this.db.run(`UPDATE notifications SET state = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = NULL WHERE id = ?`, [now, id]);
    else if (outcome.state === 'pending') await this.db.run(`UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?`, [outcome.nextAttemptAt, outcome.error, id]);
    else await this.db.run(`UPDATE notifications SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?`, [outcome.error, id]);
  }

  get(eventId: string): Promise<NotificationRow | undefined> {
    return this.db.get<NotificationRow>(`SELECT * FROM notifications WHERE event_id = ?`, [eventId]);
  }
}

export async function insertNotification(s: Statements, n: NewNotification, now: number): Promise<void> {
  await s.run(
    `INSERT OR IGNORE INTO notifications (event_id, business, type, body, state, next_attempt_at, created_at) VALUES (?,?,?,?,'pending',?,?)`,
    [n.eventId, n.business, n.type, n.body, now, now],
  );
}
