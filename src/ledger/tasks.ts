// Callback tasks: a missed call from a number that can be called back opens one per business and
// number (later calls add to it); a person reaching the caller, or staff, close it.

import type { TaskRow } from '../records/rows';
import type { LedgerDb, Statements } from './db';

export class Tasks {
  constructor(private readonly db: LedgerDb) {}

  /** A missed call opens a callback task, or adds to the open one for this business and number. */
  open(business: string, number: string, callId: string, now: number): Promise<number> {
    return this.db.transaction((s) => openTaskIn(s, business, number, callId, now));
  }

  /** Closes the open tasks for a number (one business, or all when undefined). */
  async closeFor(number: string, business: string | undefined, reason: string, now: number): Promise<number> {
    const res = await this.db.run(
      `UPDATE tasks SET closed_at = ?, closed_reason = ? WHERE number = ? AND closed_at IS NULL AND (CAST(? AS TEXT) IS NULL OR business = ?)`,
      [now, reason, number, business ?? null, business ?? null],
    );
    return res.changes;
  }

  async close(id: number, reason: string, now: number): Promise<boolean> {
    return (await this.db.run(`UPDATE tasks SET closed_at = ?, closed_reason = ? WHERE id = ? AND closed_at IS NULL`, [now, reason, id])).changes === 1;
  }

  /** Open tasks, oldest first, with the contact's name and last message. */
  listOpen(): Promise<TaskRow[]> {
    return this.db.all<TaskRow>(
      `SELECT t.*, COALESCE(c.name, c.caller_id_name) AS name,
              (SELECT body FROM messages m WHERE m.number = t.number ORDER BY received_at DESC, id DESC LIMIT 1) AS last_message
       FROM tasks t LEFT JOIN contacts c ON c.number = t.number
       WHERE t.closed_at IS NULL ORDER BY t.opened_at, t.id`,
    );
  }

  get(id: number): Promise<TaskRow | undefined> {
    return this.db.get<TaskRow>(`SELECT t.*, NULL AS name, NULL AS last_message FROM tasks t WHERE id = ?`, [id]);
  }
}

export async function openTaskIn(s: Statements, business: string, number: string, callId: string, now: number): Promise<number> {
  const open = await s.get<{ id: number }>(`SELECT id FROM tasks WHERE business = ? AND number = ? AND closed_at IS NULL`, [business, number]);
  if (open) {
    await s.run(`UPDATE tasks SET calls = calls + 1, last_call_at = ?, call_id = ? WHERE id = ?`, [now, callId, open.id]);
    return open.id;
  }
  return (await s.run(`INSERT INTO tasks (business, number, call_id, opened_at, last_call_at) VALUES (?,?,?,?,?)`, [business, number, callId, now, now])).lastID;
}
