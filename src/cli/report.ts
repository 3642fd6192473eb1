// `mctb report [--since 7d] [--business NAME] [--json]`: what mctb did in a window, from the
// ledger: calls by outcome, missed callers and how many were recovered, texted or not and why,
// delivery, replies, opt-outs, and how fast the text followed the hangup. Aggregates in SQL over
// covering indexes (fast on a big ledger).

import { TRANSPORTS } from '../adapters';
import { formatDuration, parseDuration } from '../config/load';
import type { LedgerReport } from '../ledger/report';
import { CALL_OUTCOMES } from '../records/states';
import { MISSED_OUTCOMES } from '../calls/types';
import { withLedger } from './read-config';
import { FILTERED_FIX } from '../records/states';
import { formatTime, isoTime, zoneFor } from './time';

/** `mctb report --json`: one object, these fields (README, "Operating it"). */
export interface ReportJson {
  /** The window, ISO 8601: calls that ended in it, texts created in it. */
  since: string;
  until: string;
  /** The business reported on; null for all. */
  business: string | null;
  /** Inbound calls that ended in the window. */
  calls: {
    total: number;
    answered: number;
    /** noanswer, busy, cancel, unavailable, voicemail, queue_abandon. */
    missed: number;
    unknown_end: number;
    /** Every outcome, zero included. */
    by_outcome: Record<string, number>;
  };
  /** Distinct numbers with a missed inbound call in the window. */
  missed_callers: number;
  /**
   * Of missed_callers, those a person reached within 7 days of a missed call in the window: the
   * caller called that business again and was answered, or was called back and answered.
   */
  recovered: number;
  /** Inbound calls decided `text`. */
  texted: number;
  /** Calls not answered and not texted, by reason (only reasons that occurred). */
  skipped: Record<string, number>;
  /** Text-backs (first text of a missed call) created in the window, by state. */
  texts: { total: number; delivered: number; failed: number; submitted: number; waiting: number; cancelled: number; skipped: number };
  /** Texts (not keywords) received in the window after a text-back to that number went out. */
  replies: number;
  /** Distinct numbers a text-back went out to. */
  contacts_texted: number;
  /** Of those, how many replied. */
  contacts_replied: number;
  /** contacts_replied / contacts_texted; null when nobody was texted. */
  reply_rate: number | null;
  /** Opt-outs recorded in the window (for this business or all businesses). */
  opt_outs: number;
  /** Median seconds from the caller's hangup to the text-back's submission; null when none. */
  median_seconds_to_text: number | null;
  /**
   * Texts (every kind) created in the window that the carrier filtered as unregistered traffic
   * (Twilio 30007/30034, Telnyx's equivalents): "sent" but never delivered. `by_business` counts
   * them per business (only those with some); `fix` says what to do, null when none.
   */
  filtered: { total: number; by_business: Record<string, number>; fix: string | null };
}

export function buildReportJson(r: LedgerReport, since: number, until: number, business: string | undefined, zone = 'system'): ReportJson {
  const byOutcome: Record<string, number> = Object.fromEntries(CALL_OUTCOMES.map((o) => [o, 0]));
  const skipped: Record<string, number> = {};
  let total = 0;
  let texted = 0;
  for (const row of r.calls) {
    total += row.n;
    byOutcome[row.outcome] = (byOutcome[row.outcome] ?? 0) + row.n;
    if (row.decision === 'text') texted += row.n;
    else if (row.outcome !== 'answered') skipped[row.reason] = (skipped[row.reason] ?? 0) + row.n;
  }
  const missed = MISSED_OUTCOMES.reduce((sum, o) => sum + (byOutcome[o] ?? 0), 0);
  const state = (s: string) => r.texts.find((t) => t.state === s)?.n ?? 0;
  return {
    since: isoTime(since, zone) ?? '',
    until: isoTime(until, zone) ?? '',
    business: business ?? null,
    calls: { total, answered: byOutcome.answered ?? 0, missed, unknown_end: byOutcome.unknown_end ?? 0, by_outcome: byOutcome },
    missed_callers: r.missedCallers,
    recovered: r.recovered,
    texted,
    skipped: Object.fromEntries(Object.entries(skipped).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    texts: {
      total: r.texts.reduce((sum, t) => sum + t.n, 0),
      delivered: state('delivered'),
      failed: state('failed'),
      submitted: state('submitted'),
      waiting: state('scheduled') + state('sending'),
      cancelled: state('cancelled'),
      skipped: state('skipped'),
    },
    replies: r.replies,
    contacts_texted: r.contactsTexted,
    contacts_replied: r.contactsReplied,
    reply_rate: r.replyRate === null ? null : Math.round(r.replyRate * 10_000) / 10_000,
    opt_outs: r.optOuts,
    median_seconds_to_text: r.medianMsToText === null ? null : Math.round(r.medianMsToText) / 1000,
    filtered: {
      total: (r.filtered ?? []).reduce((sum, f) => sum + f.n, 0),
      by_business: Object.fromEntries((r.filtered ?? []).map((f) => [f.business, f.n])),
      fix: (r.filtered ?? []).length > 0 ? FILTERED_FIX : null,
    },
  };
}

export function report(opts: { config?: string; since?: string; business?: string; json?: boolean }, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger, config) => {
      const sinceText = opts.since ?? '7d';
      const window = parseDuration(sinceText);
      if (window === undefined || window <= 0) {
        err.write(`mctb report: --since "${sinceText}" is not a duration (e.g. 24h, 7d, 30d)\n`);
        return 2;
      }
      if (opts.business !== undefined && !config.businesses.some((b) => b.name === opts.business)) {
        err.write(`mctb report: note: no business named "${opts.business}" in the config (businesses: ${config.businesses.map((b) => b.name).join(', ')}); counting the ledger's rows for that name\n`);
      }
      const until = Date.now();
      const since = until - window;
      const zone = zoneFor(config, opts.business);
      const j = buildReportJson(await ledger.admin.report(since, until, opts.business === undefined ? undefined : [opts.business]), since, until, opts.business, zone);
      if (opts.json) {
        out.write(JSON.stringify(j) + '\n');
        return 0;
      }
      const when = (ms: number) => formatTime(ms, zone);
      const pct = (n: number, of: number) => (of > 0 ? ` (${Math.round((n / of) * 100)}%)` : '');
      const lines: [string, string | number, string?][] = [];
      const row = (label: string, value: string | number, note = '') => lines.push([label, value, note]);
      row('Calls (inbound)', j.calls.total);
      row('  answered', j.calls.answered, pct(j.calls.answered, j.calls.total));
      row('  missed', j.calls.missed, pct(j.calls.missed, j.calls.total));
      for (const o of MISSED_OUTCOMES) if (j.calls.by_outcome[o]) row(`    ${o}`, j.calls.by_outcome[o]);
      if (j.calls.unknown_end) row('  end not seen (unknown_end)', j.calls.unknown_end);
      row('Missed callers', j.missed_callers, 'distinct numbers');
      row('Recovered', j.recovered, 'missed callers a person reached within 7 days: called again and answered, or called back');
      row('Texted', j.texted, j.calls.missed > 0 ? `${Math.round((j.texted / j.calls.missed) * 100)}% of missed calls` : '');
      const skippedTotal = Object.values(j.skipped).reduce((a, b) => a + b, 0);
      row('Not texted', skippedTotal);
      for (const [reason, n] of Object.entries(j.skipped)) row(`  ${reason}`, n);
      row('Texts', j.texts.total);
      row('  delivered', j.texts.delivered, pct(j.texts.delivered, j.texts.total));
      row('  failed', j.texts.failed, pct(j.texts.failed, j.texts.total));
      if (j.texts.submitted) row('  awaiting receipt', j.texts.submitted);
      if (j.texts.waiting) row('  waiting to go out', j.texts.waiting);
      if (j.texts.cancelled) row('  cancelled', j.texts.cancelled);
      if (j.texts.skipped) row('  skipped when due', j.texts.skipped);
      if (j.filtered.total > 0) {
        row('Filtered by the carrier', j.filtered.total, `texts "sent" but not delivered (unregistered traffic); fix: ${j.filtered.fix}`);
        if (opts.business === undefined) for (const [b, n] of Object.entries(j.filtered.by_business)) row(`  ${b}`, n);
      }
      row('Replies', j.replies, j.contacts_texted > 0 ? `from ${j.contacts_replied} of ${j.contacts_texted} contacts texted${pct(j.contacts_replied, j.contacts_texted)}` : '');
      row('Reply rate', j.reply_rate === null ? '-' : `${Math.round(j.reply_rate * 100)}%`, j.reply_rate === null ? '' : 'of contacts texted replied');
      row('Opt-outs', j.opt_outs);
      row('Median hangup → text', j.median_seconds_to_text === null ? '-' : `${j.median_seconds_to_text.toFixed(1)} s`);
      out.write(`mctb report: last ${formatDuration(window)} (${when(since)} → ${when(until)}), ${opts.business ?? 'all businesses'}\n\n`);
      const width = Math.max(...lines.map(([label]) => label.length)) + 2;
      const valueWidth = Math.max(...lines.map(([, v]) => String(v).length));
      for (const [label, value, note] of lines) out.write(`${label.padEnd(width)}${String(value).padStart(valueWidth)}${note ? `  ${note.trim()}` : ''}\n`);
      const transportNote = TRANSPORTS[config.sms.transport].reportNote;
      if (transportNote) out.write(`\nnote: ${transportNote}\n`);
      return 0;
    },
    err,
  );
}
