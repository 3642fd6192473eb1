// What a staff mobile's reply is an answer to (src/plans/relay.ts): the thread an alert offered
// it, or the thread it names. Reads only: the relayed text is written with the message
// (Messages.apply).

import { offeredThread } from '../notify/events';
import type { LedgerDb } from './db';

export interface ThreadRef {
  id: number;
  business: string;
  number: string;
}

export class Relay {
  constructor(private readonly db: LedgerDb) {}

  /** A thread by id. */
  thread(id: number): Promise<ThreadRef | undefined> {
    return this.db.get<ThreadRef>(`SELECT id, business, number FROM threads WHERE id = ?`, [id]);
  }

  /**
   * The thread offered by the latest staff alert this mobile was sent for these businesses since
   * `since`. The alert's own text names it (the "(#12)" it ends with: what the staff member saw).
   */
  async latestOffered(staff: string, businesses: readonly string[], since: number): Promise<ThreadRef | undefined> {
    if (businesses.length === 0) return undefined;
    const alert = await this.db.get<{ body: string }>(
      `SELECT body FROM sends
       WHERE number = ? AND kind = 'staff_alert' AND created_at >= ? AND state IN ('sending','submitted','delivered')
         AND business IN (${businesses.map(() => '?').join(',')}) AND body LIKE '%(#%).'
       ORDER BY created_at DESC, id DESC LIMIT 1`,
      [staff, since, ...businesses],
    );
    const id = alert && offeredThread(alert.body);
    return id === undefined ? undefined : this.thread(id);
  }
}
