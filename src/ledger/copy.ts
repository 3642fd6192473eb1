// `mctb ledger copy --from sqlite:PATH --to postgres:URL`: a box's whole history into a shared
// PostgreSQL ledger, opt-outs first (the one thing that must never be missing). Rows keep their
// ids, and a row already there (same key) is left alone, so a second run, or one after an
// interrupted first, changes nothing and finishes the rest. The destination's triggers are off
// while it copies (it copies what they keep, threads and per-minute counts, as they are), within
// one transaction per table, so a failed run leaves each table copied whole or not at all.

import type { Ledger } from './ledger';

/** The tables copied, in order: opt-outs first; each after the tables it refers to. */
export const COPIED_TABLES = [
  'opt_outs',
  'contacts',
  'users',
  'calls',
  'sends',
  'send_parts',
  'receipts',
  'messages',
  'inbound_parts',
  'tasks',
  'notifications',
  'threads',
  'notes',
  'audit',
  'send_counts',
  'transport_state',
] as const;

/** Tables whose `id` the destination generates: its sequence is moved past the copied ids. */
const ID_TABLES = new Set(['sends', 'receipts', 'messages', 'tasks', 'notifications', 'users', 'audit', 'threads', 'notes']);

/** Rows read and written at a time (PostgreSQL takes at most 65,535 parameters a statement). */
const PAGE = 2000;

export interface CopiedTable {
  table: string;
  /** Rows in the source. */
  from: number;
  /** Rows in the destination after the copy. */
  to: number;
  /** Rows this run added. */
  added: number;
}

export async function copyLedger(from: Ledger, to: Ledger, onTable?: (t: CopiedTable) => void): Promise<CopiedTable[]> {
  if (from.driver !== 'sqlite' || to.driver !== 'postgres') throw new Error('ledger copy copies an SQLite ledger into a PostgreSQL one (--from sqlite:PATH --to postgres:URL)');
  const src = from.database;
  const dst = to.database;
  const out: CopiedTable[] = [];
  for (const table of COPIED_TABLES) {
    const added = await dst.transaction(async (s) => {
      await s.exec(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
      let n = 0;
      // send_counts has no rowid (WITHOUT ROWID): paged by offset, it is small (a day of minutes).
      const keyed = table !== 'send_counts';
      let after = -Infinity;
      for (let offset = 0; ; offset += PAGE) {
        const rows = keyed
          ? await src.all<Record<string, unknown>>(`SELECT rowid AS mctb_rowid, * FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ?`, [after === -Infinity ? -1 : after, PAGE])
          : await src.all<Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY business, minute LIMIT ? OFFSET ?`, [PAGE, offset]);
        if (rows.length === 0) break;
        if (keyed) after = Number(rows[rows.length - 1].mctb_rowid);
        const columns = Object.keys(rows[0]).filter((c) => c !== 'mctb_rowid');
        const values: unknown[] = [];
        for (const r of rows) for (const c of columns) values.push(r[c]);
        const tuple = `(${columns.map(() => '?').join(',')})`;
        n += (await s.run(`INSERT OR IGNORE INTO ${table} (${columns.join(', ')}) VALUES ${rows.map(() => tuple).join(',')}`, values)).changes;
        if (rows.length < PAGE) break;
      }
      await s.exec(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
      if (ID_TABLES.has(table)) await s.exec(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), GREATEST((SELECT MAX(id) FROM ${table}), 1))`);
      return n;
    });
    const count = async (l: typeof src) => (await l.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n ?? 0;
    const t = { table, from: await count(src), to: await count(dst), added };
    out.push(t);
    onTable?.(t);
  }
  return out;
}
