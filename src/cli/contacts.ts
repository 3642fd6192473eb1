// `mctb contacts import FILE.csv` and `mctb contacts list`: known callers with a name, tags and
// do_not_text. Exit codes (import): 0 every row imported, 1 some rows rejected (each reported as
// FILE:LINE: reason, the rest imported), 2 the file or the config cannot be read.

import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Config } from '../config/types';
import { classifyNumber } from '../numbers/phone';
import { sanitizeValue } from '../messages/template';
import { EXIT_CONFIG, openLedger, readConfig, reportConfigError, withLedger } from './read-config';

const TRUE = new Set(['true', 'yes', '1', 'y']);
const FALSE = new Set(['false', 'no', '0', 'n', '']);
const COLUMNS = ['name', 'number', 'tags', 'do_not_text'];

export interface ContactInput {
  number: string;
  name: string;
  tags: string[];
  doNotText: boolean;
}

export interface ImportRow {
  line: number;
  contact?: ContactInput;
  error?: string;
}

/** Reads the CSV (header row first) into rows, each valid or with the reason it is not. Throws on a file-level problem. */
export function parseContactsCsv(text: string, defaultCountry: string): ImportRow[] {
  const records = parse(text, { columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), info: true, skip_empty_lines: true, relax_column_count: true, trim: true, bom: true }) as { record: Record<string, string>; info: { lines: number } }[];
  const header = records.length > 0 ? Object.keys(records[0].record) : (parse(text, { to_line: 1 }) as string[][])[0]?.map((c) => c.trim().toLowerCase()) ?? [];
  for (const need of ['name', 'number']) if (!header.includes(need)) throw new Error(`the header row has no "${need}" column (columns: ${COLUMNS.join(', ')})`);
  const unknown = header.filter((h) => !COLUMNS.includes(h));
  if (unknown.length) throw new Error(`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} (columns: ${COLUMNS.join(', ')})`);
  return records.map(({ record, info }) => {
    const line = info.lines;
    const raw = record.number ?? '';
    const parsed = classifyNumber(raw, defaultCountry);
    if (!parsed || parsed.shortCode || !parsed.valid) return { line, error: `"${sanitizeValue(raw, 40)}" is not a valid phone number` };
    const name = sanitizeValue(record.name ?? '', 80);
    const dnt = (record.do_not_text ?? '').toLowerCase();
    if (!TRUE.has(dnt) && !FALSE.has(dnt)) return { line, error: `do_not_text must be true/false/yes/no/1/0, got "${sanitizeValue(dnt, 20)}"` };
    if (!name && !TRUE.has(dnt)) return { line, error: 'name is empty' };
    const tags = (record.tags ?? '').split(/[;|,]/).map((t) => sanitizeValue(t, 40)).filter(Boolean);
    return { line, contact: { number: parsed.number, name, tags, doNotText: TRUE.has(dnt) } };
  });
}

export async function contactsImport(file: string, cliConfig: string | undefined, out = process.stdout, err = process.stderr): Promise<number> {
  let config: Config;
  try {
    config = readConfig(cliConfig).config;
  } catch (e) {
    return reportConfigError(e, err);
  }
  let rows: ImportRow[];
  try {
    rows = parseContactsCsv(readFileSync(file, 'utf8'), config.numbers.default_country);
  } catch (e) {
    err.write(`${file}: ${(e as NodeJS.ErrnoException).code ? `cannot read: ${(e as Error).message}` : (e as Error).message}\n`);
    return EXIT_CONFIG;
  }
  const ledger = await openLedger(config.ledger.path, err);
  if (!ledger) return EXIT_CONFIG;
  let imported = 0;
  try {
    const now = Date.now();
    for (const row of rows) {
      if (row.contact) {
        await ledger.contacts.upsert(row.contact, now);
        imported++;
      } else {
        err.write(`${file}:${row.line}: ${row.error}\n`);
      }
    }
  } finally {
    await ledger.close();
  }
  const rejected = rows.length - imported;
  out.write(`${imported} contact${imported === 1 ? '' : 's'} imported${rejected ? `, ${rejected} row${rejected === 1 ? '' : 's'} rejected` : ''}\n`);
  return rejected ? 1 : 0;
}

export function contactsList(cliConfig: string | undefined, json: boolean, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    cliConfig,
    async (ledger) => {
      const rows = await ledger.contacts.list();
      if (json) {
        for (const r of rows) out.write(JSON.stringify({ number: r.number, name: r.name, tags: r.tags ? r.tags.split(',') : [], do_not_text: r.do_not_text !== 0 }) + '\n');
      } else {
        for (const r of rows) out.write(`${r.number.padEnd(16)} ${(r.name ?? '').padEnd(24)} ${r.do_not_text ? 'do_not_text ' : ''}${r.tags ?? ''}\n`);
        out.write(`${rows.length} contact${rows.length === 1 ? '' : 's'}\n`);
      }
      return 0;
    },
    err,
  );
}
