// Contacts (names an admin set or imported, the caller-ID name, do_not_text) and opt-outs (per
// business, or '*' for all). Opt-outs are the one thing the ledger must never lose.

import type { ContactRow, OptOutRow } from '../records/rows';
import type { SqliteFile } from './sqlite';

export class Contacts {
  constructor(private readonly db: SqliteFile) {}

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

  /** Contacts someone named (imported or set by an admin), by name. */
  list(limit = 1000): Promise<ContactRow[]> {
    return this.db.all<ContactRow>(`SELECT * FROM contacts WHERE name IS NOT NULL OR do_not_text != 0 ORDER BY name COLLATE NOCASE, number LIMIT ?`, [limit]);
  }
}

export class OptOuts {
  constructor(private readonly db: SqliteFile) {}

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
