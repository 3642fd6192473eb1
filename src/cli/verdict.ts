// What became of a call, in the words `mctb why` and `mctb calls` both print: one wording for the
// rows of one query (Calls.find).

import type { CallListRow } from '../records/rows';

/**
 * The decision and, for a texted call, its text-back's state: `not texted: deduped`,
 * `texted (delivered)`, `texted (failed: receipt_undeliverable, send 12)` with `sendId`.
 */
export function callVerdict(c: Pick<CallListRow, 'decision' | 'reason' | 'text_id' | 'text_state' | 'text_reason'>, opts: { sendId?: boolean } = {}): string {
  if (c.decision !== 'text') return `not texted: ${c.reason}`;
  if (!c.text_state) return 'texted';
  return `texted (${c.text_state}${c.text_reason ? `: ${c.text_reason}` : ''}${opts.sendId ? `, send ${c.text_id}` : ''})`;
}

/** What mctb could not see of a call, said next to its verdict. */
export function callNotes(c: { midway?: number | null; presentation?: string | null; direction?: string }): string[] {
  const notes: string[] = [];
  if (c.midway) notes.push('seen from the middle: the call was already in progress when mctb (re)connected to the PBX');
  if (c.presentation === 'unknown' && c.direction !== 'outbound')
    notes.push("presentation unknown: the PBX never said whether the caller withheld their number (see README: withheld numbers)");
  return notes;
}
