// Contacts (names an admin set or imported, the caller-ID name, do_not_text) and opt-outs (per
// business, or '*' for all). Opt-outs are the one thing the ledger must never lose.

import type { ContactRow, OptOutRow } from '../records/rows';
import type { LedgerDb } from './db';

export class Contacts {
  constructor(private readonly db: LedgerDb) {}

  /** A contact by E.164 number. */
  get(number: string): Promise<ContactRow | undefined> {
    return this.db.get<ContactRow>(`SELECT * FROM contacts WHERE number = ?`, [number]);
  }

  /** Adds or updates a contact from an import or an admin; the name set here beats the caller-ID name. */
  async upsert(c: { number: string; name: string; tags: string[]; doNotText: boolean }, now: number): Promise<void> {
    await this.db.run(
      `INSERT INTO contacts (number, name, tags, do_not_text, first_seen_at) VALUES (?,?,?,?,?)
       ON CONFLICT(number) DO UPDATE SET name = excluded.name, tags = excluded.tags, do_not_text = excluded.do_not_text`,
      [c.number, c.name, c.tags.join(','), c.doNotText ? 1 : 0, now],
    );
  }

  /**
   * Contacts matching a name or number fragment, by name; with `businesses`, only those with a
   * console thread in one of them (what a staff user may see).
   */
  search(q: { text: string; businesses?: readonly string[]; limit: number }): Promise<ContactRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const text = q.text.trim();
    if (text) {
      const digits = text.replace(/\D/g, '');
      const like = `%${text.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
      where.push(`(c.name LIKE ? ESCAPE '\\' OR c.caller_id_name LIKE ? ESCAPE '\\'${digits.length >= 3 ? ' OR c.number LIKE ?' : ''})`);
      args.push(like, like, ...(digits.length >= 3 ? [`%${digits}%`] : []));
    }
    if (q.businesses !== undefined) {
      where.push(`EXISTS (SELECT 1 FROM threads t WHERE t.number = c.number AND t.business IN (${q.businesses.map(() => '?').join(',') || 'NULL'}))`);
      args.push(...q.businesses);
    }
    args.push(q.limit);
    return this.db.all<ContactRow>(
      `SELECT c.* FROM contacts c ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY COALESCE(c.name, c.caller_id_name) IS NULL, lower(COALESCE(c.name, c.caller_id_name)), c.number LIMIT ?`,
      args,
    );
  }

  /** Contacts someone named (imported or set by an admin), by name. */
  list(limit = 1000): Promise<ContactRow[]> {
    return this.db.all<ContactRow>(`SELECT * FROM contacts WHERE name IS NOT NULL OR do_not_text != 0 ORDER BY lower(name), number LIMIT ?`, [limit]);
  }
}

export class OptOuts {
  constructor(private readonly db: LedgerDb) {}

  /** Opted out of this business, or of all. */
  async has(number: string, business: string): Promise<boolean> {
    const row = await this.db.get(`SELECT 1 FROM opt_outs WHERE number = ? AND (business = ? OR business = '*') LIMIT 1`, [number, business]);
    return row !== undefined;
  }

  /** An opt-out from `business`, or from all with '*'; one already there stays as it was. */
  async add(number: string, business: string, source: string, now: number): Promise<void> {
    await this.db.run(`INSERT OR IGNORE INTO opt_outs (number, business, source, created_at) VALUES (?,?,?,?)`, [number, business, source, now]);
  }

  async remove(number: string, business: string): Promise<number> {
    return (await this.db.run(`DELETE FROM opt_outs WHERE number = ? AND business = ?`, [number, business])).changes;
  }

  /** Every opt-out, newest first. */
  list(): Promise<OptOutRow[]> {
    return this.db.all<OptOutRow>(`SELECT number, business, source, created_at FROM opt_outs ORDER BY created_at DESC, number`);
  }
}
