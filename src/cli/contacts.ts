// `mctb contacts import FILE.csv` and `mctb contacts list`: known callers with a name, tags and
// do_not_text. Exit codes (import): 0 every row imported, 1 some rows rejected (each reported as
// FILE:LINE: reason, the rest imported), 2 the file or the config cannot be read.

import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Config } from '../config/types';
import { closest } from '../config/suggest';
import { classifyNumber } from '../numbers/phone';
import { sanitizeValue } from '../messages/template';
import { targetOf } from '../ledger/ledger';
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
  /** Imported (or merged) with a remark: an extra field ignored, a duplicate merged. */
  warnings?: string[];
  /** A duplicate, merged into the row of its first line. */
  merged?: boolean;
}

/**
 * Reads the CSV (header row first) into rows, each valid or with the reason it is not. A number
 * given twice is merged into its first row (name and do_not_text from the later row, tags of
 * both); columns and fields beyond `name,number,tags,do_not_text` are ignored with a warning.
 * Throws on a file-level problem.
 */
export function parseContactsCsv(text: string, defaultCountry: string): ImportRow[] {
  const rows = parseRows(text, defaultCountry);
  const first = new Map<string, ImportRow>();
  for (const row of rows) {
    const c = row.contact;
    if (!c) continue;
    const earlier = first.get(c.number);
    if (!earlier?.contact) {
      first.set(c.number, row);
      continue;
    }
    earlier.contact = { number: c.number, name: c.name || earlier.contact.name, tags: [...new Set([...earlier.contact.tags, ...c.tags])], doNotText: c.doNotText || earlier.contact.doNotText };
    row.contact = undefined;
    row.merged = true;
    (row.warnings ??= []).push(`duplicate of line ${earlier.line}, merged`);
  }
  return rows;
}

function parseRows(text: string, defaultCountry: string): ImportRow[] {
  const records = parse(text, { columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), info: true, skip_empty_lines: true, relax_column_count: true, trim: true, bom: true }) as { record: Record<string, string>; info: { lines: number } }[];
  const header = records.length > 0 ? Object.keys(records[0].record) : (parse(text, { to_line: 1 }) as string[][])[0]?.map((c) => c.trim().toLowerCase()) ?? [];
  for (const need of ['name', 'number']) if (!header.includes(need)) throw new Error(`the header row has no "${need}" column (columns: ${COLUMNS.join(', ')})`);
  // A misspelt known column ("do_not_txt") would silently drop what it holds (a do-not-text!):
  // the file is refused. Other extra columns (notes, email) are ignored with a warning.
  for (const h of header) {
    const meant = COLUMNS.includes(h) ? undefined : closest(h, COLUMNS);
    if (meant) throw new Error(`the header row has a column "${h}": did you mean "${meant}"? (columns: ${COLUMNS.join(', ')})`);
  }
  const unknown = header.filter((h) => !COLUMNS.includes(h));
  const headerRow: ImportRow[] = unknown.length
    ? [{ line: 1, warnings: [`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} ignored (columns: ${COLUMNS.join(', ')})`] }]
    : [];
  return [...headerRow, ...records.map(({ record, info }) => parseRecord(record, info, header.length, defaultCountry))];
}

function parseRecord(record: Record<string, string>, info: { lines: number; error?: { record?: unknown[] } }, columns: number, defaultCountry: string): ImportRow {
  const line = info.lines;
  const fields = info.error?.record?.length ?? 0;
  const warnings = fields > columns ? [`${fields - columns} field${fields - columns === 1 ? '' : 's'} beyond the header's ${columns} column${columns === 1 ? '' : 's'}, ignored`] : undefined;
  const raw = record.number ?? '';
  const parsed = classifyNumber(raw, defaultCountry);
  if (!parsed || parsed.shortCode || !parsed.valid) return { line, error: `"${sanitizeValue(raw, 40)}" is not a valid phone number` };
  const name = sanitizeValue(record.name ?? '', 80);
  const dnt = (record.do_not_text ?? '').toLowerCase();
  if (!TRUE.has(dnt) && !FALSE.has(dnt)) return { line, error: `do_not_text must be true/false/yes/no/1/0, got "${sanitizeValue(dnt, 20)}"` };
  if (!name && !TRUE.has(dnt)) return { line, error: 'name is empty' };
  const tags = (record.tags ?? '').split(/[;|,]/).map((t) => sanitizeValue(t, 40)).filter(Boolean);
  return { line, contact: { number: parsed.number, name, tags, doNotText: TRUE.has(dnt) }, warnings };
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
  const ledger = await openLedger(targetOf(config.ledger), err);
  if (!ledger) return EXIT_CONFIG;
  let imported = 0;
  let rejected = 0;
  let merged = 0;
  try {
    const now = Date.now();
    for (const row of rows) {
      for (const w of row.warnings ?? []) err.write(`${file}:${row.line}: ${w}\n`);
      if (row.contact) {
        await ledger.contacts.upsert(row.contact, now);
        imported++;
      } else if (row.error) {
        err.write(`${file}:${row.line}: ${row.error}\n`);
        rejected++;
      } else if (row.merged) merged++;
    }
  } finally {
    await ledger.close();
  }
  out.write(`${imported} contact${imported === 1 ? '' : 's'} imported${merged ? `, ${merged} duplicate row${merged === 1 ? '' : 's'} merged` : ''}${rejected ? `, ${rejected} row${rejected === 1 ? '' : 's'} rejected` : ''}\n`);
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
