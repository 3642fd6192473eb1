// "Filtered, not delivered" (issue 15): a text the carrier accepted and then dropped as
// unregistered traffic (Twilio 30007/30034, Telnyx's equivalents). Transports store such a
// delivery error with FILTERED_PREFIX (src/records/states.ts filteredError); `mctb why`, `mctb
// report` and this warning name it with its fix.

import type { Logger } from '../log';
import { FILTERED_FIX, FILTERED_PREFIX } from '../records/states';

/** True for a send's error that is carrier filtering. */
export function isFiltered(error: string | null | undefined): boolean {
  return typeof error === 'string' && error.startsWith(FILTERED_PREFIX);
}

/** `filtered by the carrier, not delivered (30007 twilio message filtered by the carrier) — fix: …`. */
export function filteredWords(error: string): string {
  const what = error.slice(FILTERED_PREFIX.length).split(':')[0].trim();
  return `filtered by the carrier, not delivered${what ? ` (${what})` : ''} — fix: ${FILTERED_FIX}`;
}

const DAY_MS = 86_400_000;

/** Logs a warning about filtered texts at most once a day per business, with the fix. */
export class FilteredWarnings {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  /** A send of `business` failed with `error`: warns when it is filtering and not warned today. */
  note(business: string, error: string | null | undefined, sendId?: number): void {
    if (!isFiltered(error)) return;
    const now = this.clock();
    const at = this.last.get(business);
    if (at !== undefined && now - at < DAY_MS) return;
    this.last.set(business, now);
    this.log.warn('the carrier filtered a text (not delivered): unregistered traffic; said once a day per business, `mctb report` counts them', {
      business,
      send: sendId,
      error: error!.slice(FILTERED_PREFIX.length).split(':')[0].trim(),
      fix: FILTERED_FIX,
    });
  }
}
