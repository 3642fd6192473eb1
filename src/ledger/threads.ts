// Conversations for the console: one thread per business and contact number (the `threads` table,
// kept up to date by triggers on calls, messages and sends: migration 8), its timeline, internal
// notes, assignment, and the staff actions that close it. Every read takes the businesses the
// reader may see, so a thread of another business is simply not found.

import type { SendRow } from '../records/rows';
import type { LedgerDb } from './db';

export interface ThreadRow {
  id: number;
  business: string;
  number: string;
  last_at: number;
  last_kind: 'call' | 'in' | 'out';
  last_preview: string | null;
  unread: number;
  assigned_to: number | null;
  /** The contact's name: set by an admin, else the caller-ID name. */
  name: string | null;
  assignee: string | null;
  open_task: number;
  opted_out: number;
  do_not_text: number;
}

export interface InboxQuery {
  /** The businesses the reader may see; undefined: all (owner). */
  businesses?: readonly string[];
  /** One business among them. */
  business?: string;
  unread?: boolean;
  openTask?: boolean;
  assignedTo?: number;
  /** Digits of a number (any format) or part of a name. */
  search?: string;
  /** Keyset paging: threads older than this one. */
  before?: { at: number; id: number };
  limit?: number;
}

export type TimelineItem =
  | { type: 'call'; at: number; callId: string; outcome: string; decision: string; reason: string; detail: string | null; callerName: string; startedAt: number }
  | { type: 'in'; at: number; id: number; body: string; keyword: string | null }
  | { type: 'out'; at: number; id: number; kind: string; state: SendRow['state']; reason: string | null; error: string | null; body: string; sentBy: string | null; dueAt: number; submittedAt: number | null; finishedAt: number | null }
  | { type: 'note'; at: number; id: number; author: string; body: string };

const THREAD_COLUMNS = `t.*, COALESCE(c.name, c.caller_id_name) AS name, u.name AS assignee, COALESCE(c.do_not_text, 0) AS do_not_text,
  EXISTS (SELECT 1 FROM tasks k WHERE k.business = t.business AND k.number = t.number AND k.closed_at IS NULL) AS open_task,
  EXISTS (SELECT 1 FROM opt_outs o WHERE o.number = t.number AND o.business IN (t.business, '*')) AS opted_out`;
const THREAD_FROM = `threads t LEFT JOIN contacts c ON c.number = t.number LEFT JOIN users u ON u.id = t.assigned_to`;

/** How many items a thread page shows: the latest, of every kind together. */
export const TIMELINE_LIMIT = 200;

export class Threads {
  constructor(private readonly db: LedgerDb) {}

  /** The inbox: most recent activity first. */
  list(q: InboxQuery): Promise<ThreadRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    scope(q.businesses, where, args);
    if (q.business !== undefined) {
      where.push('t.business = ?');
      args.push(q.business);
    }
    if (q.unread) where.push('t.unread > 0');
    if (q.openTask) where.push('EXISTS (SELECT 1 FROM tasks k WHERE k.business = t.business AND k.number = t.number AND k.closed_at IS NULL)');
    if (q.assignedTo !== undefined) {
      where.push('t.assigned_to = ?');
      args.push(q.assignedTo);
    }
    const search = q.search?.trim();
    if (search) {
      const digits = search.replace(/\D/g, '');
      // A number in any format is matched by its digits; anything else by name.
      if (digits.length >= 3 && /^[\d\s()+.-]+$/.test(search)) {
        where.push(`t.number LIKE ? ESCAPE '\\'`);
        args.push(`%${digits}%`);
      } else {
        where.push(`COALESCE(c.name, c.caller_id_name) LIKE ? ESCAPE '\\'`);
        args.push(`%${search.replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
      }
    }
    if (q.before) {
      where.push('(t.last_at < ? OR (t.last_at = ? AND t.id < ?))');
      args.push(q.before.at, q.before.at, q.before.id);
    }
    args.push(q.limit ?? 50);
    return this.db.all<ThreadRow>(
      `SELECT ${THREAD_COLUMNS} FROM ${THREAD_FROM} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY t.last_at DESC, t.id DESC LIMIT ?`,
      args,
    );
  }

  /** A thread the reader may see, or undefined (unknown, or another business's). */
  get(id: number, businesses?: readonly string[]): Promise<ThreadRow | undefined> {
    const where = ['t.id = ?'];
    const args: unknown[] = [id];
    scope(businesses, where, args);
    return this.db.get<ThreadRow>(`SELECT ${THREAD_COLUMNS} FROM ${THREAD_FROM} WHERE ${where.join(' AND ')}`, args);
  }

  /** The thread of a business and number, if there is one. */
  async find(business: string, number: string): Promise<ThreadRow | undefined> {
    const row = await this.db.get<{ id: number }>(`SELECT id FROM threads WHERE business = ? AND number = ?`, [business, number]);
    return row ? this.get(row.id) : undefined;
  }

  /** Threads with texts nobody answered yet (the tab title's count). */
  async unreadCount(businesses?: readonly string[]): Promise<number> {
    const where = ['t.unread > 0'];
    const args: unknown[] = [];
    scope(businesses, where, args);
    return (await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM threads t WHERE ${where.join(' AND ')}`, args))?.n ?? 0;
  }

  /** The story of a thread, oldest first (its latest TIMELINE_LIMIT items): calls, texts both ways, notes. */
  async timeline(t: { id: number; business: string; number: string }): Promise<TimelineItem[]> {
    const key = [t.number, t.business, TIMELINE_LIMIT];
    const [calls, sends, messages, notes] = await Promise.all([
      this.db.all<{ call_id: string; outcome: string; decision: string; reason: string; detail: string | null; caller_name: string; started_at: number; ended_at: number }>(
        `SELECT call_id, outcome, decision, reason, detail, caller_name, started_at, ended_at FROM calls INDEXED BY calls_thread
         WHERE number = ? AND business = ? AND direction = 'inbound' ORDER BY ended_at DESC LIMIT ?`,
        key,
      ),
      this.db.all<SendRow & { sent_by: string | null }>(
        `SELECT * FROM sends INDEXED BY sends_thread WHERE number = ? AND business = ? AND kind != 'staff_alert' ORDER BY created_at DESC, id DESC LIMIT ?`,
        key,
      ),
      this.db.all<{ id: number; body: string; keyword: string | null; received_at: number }>(
        `SELECT id, body, keyword, received_at FROM messages INDEXED BY messages_thread WHERE number = ? AND business = ? ORDER BY received_at DESC, id DESC LIMIT ?`,
        key,
      ),
      this.db.all<{ id: number; author: string; body: string; created_at: number }>(
        `SELECT id, author, body, created_at FROM notes WHERE thread_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
        [t.id, TIMELINE_LIMIT],
      ),
    ]);
    const items: TimelineItem[] = [
      ...calls.map((c): TimelineItem => ({ type: 'call', at: c.ended_at, callId: c.call_id, outcome: c.outcome, decision: c.decision, reason: c.reason, detail: c.detail, callerName: c.caller_name, startedAt: c.started_at })),
      ...sends.map((s): TimelineItem => ({
        type: 'out',
        at: s.created_at,
        id: s.id,
        kind: s.kind,
        state: s.state,
        reason: s.reason,
        error: s.error,
        body: s.body,
        sentBy: s.sent_by,
        dueAt: s.due_at,
        submittedAt: s.submitted_at,
        finishedAt: s.finished_at,
      })),
      ...messages.map((m): TimelineItem => ({ type: 'in', at: m.received_at, id: m.id, body: m.body, keyword: m.keyword })),
      ...notes.map((n): TimelineItem => ({ type: 'note', at: n.created_at, id: n.id, author: n.author, body: n.body })),
    ];
    // Each kind was read up to the limit, so the latest TIMELINE_LIMIT of all of them are here.
    return items.sort((a, b) => a.at - b.at || order(a) - order(b)).slice(-TIMELINE_LIMIT);
  }

  /**
   * The business number a conversation is on: the one the contact last texted or called (for
   * `sms_from: dialled`), or undefined when neither is known.
   */
  async conversationNumber(business: string, number: string): Promise<string | undefined> {
    // The latest of each, read in index order (one step each, however long the thread).
    const row = await this.db.get<{ on: string | null }>(
      `SELECT on_number AS "on" FROM (
         SELECT * FROM (SELECT to_addr AS on_number, received_at AS at FROM messages INDEXED BY messages_thread
                        WHERE number = ? AND business = ? AND to_addr IS NOT NULL ORDER BY received_at DESC LIMIT 1) AS texted
         UNION ALL
         SELECT * FROM (SELECT did AS on_number, ended_at AS at FROM calls INDEXED BY calls_thread
                        WHERE number = ? AND business = ? AND direction = 'inbound' AND did IS NOT NULL ORDER BY ended_at DESC LIMIT 1) AS called
       ) AS latest ORDER BY at DESC LIMIT 1`,
      [number, business, number, business],
    );
    return row?.on ?? undefined;
  }

  /**
   * On a ledger shared by several sites: the site that last texted this contact for the business
   * and the number it texted from (a console reply to a business this daemon does not text for
   * goes out through that site); undefined when no site has.
   */
  async lastSender(business: string, number: string): Promise<{ site: string; sourceAddr: string } | undefined> {
    const row = await this.db.get<{ site: string; source_addr: string }>(
      `SELECT site, source_addr FROM sends INDEXED BY sends_thread
       WHERE number = ? AND business = ? AND site IS NOT NULL ORDER BY created_at DESC LIMIT 1`,
      [number, business],
    );
    return row ? { site: row.site, sourceAddr: row.source_addr } : undefined;
  }

  async addNote(threadId: number, author: string, body: string, now: number): Promise<number> {
    return (await this.db.run(`INSERT INTO notes (thread_id, author, body, created_at) VALUES (?,?,?,?)`, [threadId, author, body, now])).lastID;
  }

  async assign(threadId: number, userId: number | null): Promise<void> {
    await this.db.run(`UPDATE threads SET assigned_to = ? WHERE id = ?`, [userId, threadId]);
  }

  /** Answered or marked done: nothing waits for staff any more. "Done" also closes the callback task. */
  async handled(t: { id: number; business: string; number: string }, closeTask: boolean, now: number): Promise<number> {
    return this.db.transaction(async (s) => {
      await s.run(`UPDATE threads SET unread = 0 WHERE id = ?`, [t.id]);
      if (!closeTask) return 0;
      return (await s.run(`UPDATE tasks SET closed_at = ?, closed_reason = 'done' WHERE business = ? AND number = ? AND closed_at IS NULL`, [now, t.business, t.number])).changes;
    });
  }

  /** "I'll call them": the text-backs and follow-ups still waiting are cancelled. */
  async cancelWaiting(t: { business: string; number: string }, reason: string, now: number): Promise<number> {
    const res = await this.db.run(
      `UPDATE sends SET state = 'cancelled', reason = ?, finished_at = ?, updated_at = ?
       WHERE number = ? AND business = ? AND state = 'scheduled' AND kind IN ('text_back', 'follow_up')`,
      [reason, now, now, t.number, t.business],
    );
    return res.changes;
  }
}

/** Restricts to the businesses a reader may see (undefined: all). */
function scope(businesses: readonly string[] | undefined, where: string[], args: unknown[]): void {
  if (businesses === undefined) return;
  if (businesses.length === 0) {
    // A condition, not a bare 0: PostgreSQL wants a boolean in WHERE.
    where.push('1 = 0');
    return;
  }
  where.push(`t.business IN (${businesses.map(() => '?').join(',')})`);
  args.push(...businesses);
}

/** At the same instant: the call, then what it caused, then the answer, then notes. */
function order(item: TimelineItem): number {
  return { call: 0, out: 1, in: 2, note: 3 }[item.type];
}
