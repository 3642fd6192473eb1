// `mctb config check`: validate, then show each business's rules and its text-back as a caller
// would get it (open and closed hours), with encoding and segment count.

import { TRANSPORTS } from '../adapters';
import { sourceOf } from '../plans/call';
import { formatProblem } from '../config/load';
import type { Config } from '../config/types';
import { formatDuration } from '../config/load';
import { countSegments } from '../messages/encoding';
import { composeTextBack } from '../policy/compose';
import { hoursToday, isOpenAt, nextClosed, nextOpen } from '../policy/hours';
import type { BusinessConfig } from '../config/types';
import { formatTime, isoTime } from './time';
import { ConfigError } from '../config/load';
import { EXIT_CONFIG, MissingConfigError, readConfig, reportConfigError } from './read-config';

/** `mctb config check --json`: one object (README, "Commands"). */
export interface ConfigCheckJson {
  ok: boolean;
  file: string;
  /** A problem each (ok false, exit 2), or one passing `config` check; warnings pass with a detail. */
  checks: { name: string; ok: boolean; detail: string; fix: string | null }[];
  /** `at`: the instant each sample is composed for (ISO 8601): now, or for a closed text the next closed moment. */
  /** Where the carrier posts incoming texts and delivery status (the transport's webhook_path on http.public_url or http.listen). */
  webhooks?: string[];
  /** `texts_from`: the sender, in words (sms_from). */
  businesses: { name: string; timezone: string; texts_from?: string; texts: { label: string; at: string; text: string; encoding: string; segments: number }[] }[];
}

/** A sample caller for the preview: a typical first name, and none. */
const SAMPLES = [
  { label: 'open, known name', kind: 'open', callerName: 'Jane Doe', number: '+14155550123' },
  { label: 'open, no name', kind: 'open', callerName: '', number: '+14155550123' },
  { label: 'closed, known name', kind: 'closed', callerName: 'Jane Doe', number: '+14155550123' },
] as const;

/**
 * When a sample is composed: now for the open text; for the closed text, the next moment the
 * business is closed (now when it is closed now), so `{{business.next_open}}` reads as a caller
 * calling while closed would see it, never "now". A business open for the next 14 days (no
 * hours) gets now: its closed text is then never sent.
 */
export function sampleAt(b: BusinessConfig, kind: 'open' | 'closed', now: number): number {
  return kind === 'closed' ? (nextClosed(b, now) ?? now) : now;
}

export function configCheck(
  cliPath: string | undefined,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
  json = false,
  now = Date.now(),
): number {
  let result;
  try {
    result = readConfig(cliPath);
  } catch (e) {
    if (json && e instanceof MissingConfigError) {
      const lines = e.lines().map((l) => l.replace(/^mctb: /, ''));
      out.write(JSON.stringify({ ok: false, file: e.path, checks: [{ name: 'config', ok: false, detail: `${lines[0]}; ${lines[1]}`, fix: lines[2] }], businesses: [] } satisfies ConfigCheckJson) + '\n');
      return EXIT_CONFIG;
    }
    if (json && e instanceof ConfigError) {
      const checks = e.problems.map((p) => ({ name: p.path || 'config', ok: false, detail: formatProblem(p), fix: null }));
      out.write(JSON.stringify({ ok: false, file: e.problems[0]?.file ?? '', checks, businesses: [] } satisfies ConfigCheckJson) + '\n');
      return EXIT_CONFIG;
    }
    return reportConfigError(e, err);
  }
  const { config, warnings } = result;
  if (json) {
    out.write(JSON.stringify(configCheckJson(config, warnings.map(formatProblem), now)) + '\n');
    return 0;
  }
  for (const w of warnings) err.write(`warning: ${formatProblem(w)}\n`);
  out.write(`${config.file}: valid (${config.businesses.length} business${config.businesses.length === 1 ? '' : 'es'}, transport ${config.sms.transport})\n`);
  for (const hook of webhookUrls(config)) out.write(`webhook for the carrier: ${hook.url}${hook.note ? ` (${hook.note})` : ''}\n`);
  let multi = 0;
  for (const b of config.businesses) {
    const dids = [...b.dids, ...b.did_patterns].join(', ');
    const l = b.limits;
    out.write(`\n${b.name}\n  DIDs: ${dids}\n  texts from: ${senderOf(b, config)}\n`);
    out.write(`  time zone ${b.timezone}; ${b.hours ? `hours today: ${hoursToday(b, now)}; ${isOpenAt(b, now) ? 'open now' : `opens ${nextOpen(b, now)?.label ?? 'never (no hours in the next 14 days)'}`}` : 'no hours set: always open'}\n`);
    out.write(`  delay ${formatDuration(b.delay_ms)}, dedupe window ${formatDuration(b.dedupe_window_ms)}; texts on: ${b.missed_on.join(', ') || 'nothing (missed_on is empty)'}\n`);
    out.write(`  limits: ${l.per_hour ?? '-'}/hour, ${l.per_day ?? '-'}/day, ${l.per_prefix_per_hour ?? '-'}/hour per number block; countries: ${b.allowed_countries.join(', ')}\n`);
    const samples = b.messages.closed === b.messages.open ? SAMPLES.filter((x) => x.kind === 'open') : SAMPLES;
    for (const sample of samples) {
      const at = sampleAt(b, sample.kind, now);
      const text = composeTextBack(b, { ...sample, endedAt: at }, { messageKind: sample.kind, now: at });
      const seg = countSegments(text);
      const label = b.messages.closed === b.messages.open ? sample.label.replace('open, ', '') : sample.label;
      const when = at !== now ? `, a call at ${formatTime(at, b.timezone)}` : '';
      out.write(`  text (${label}${when}): ${JSON.stringify(text)}\n    ${seg.encoding}, ${seg.units} ${seg.encoding === 'GSM-7' ? 'septets' : 'UTF-16 units'}, ${seg.segments} segment${seg.segments === 1 ? '' : 's'}\n`);
      if (seg.segments > 1) {
        multi++;
        const why = seg.encoding === 'UCS-2' ? ' (a character outside the GSM alphabet forces UCS-2: 70 characters per segment)' : '';
        out.write(`    warning: takes ${seg.segments} segments, billed as ${seg.segments} texts${why}\n`);
      }
    }
  }
  if (multi > 0) err.write(`warning: ${multi} text${multi === 1 ? '' : 's'} above take more than one segment\n`);
  return 0;
}

/** Who a business's texts come from, in words (sms_from, src/plans/call.ts sourceOf). */
export function senderOf(b: BusinessConfig, config: Config): string {
  const probe = sourceOf(b, config, b.dids[0]);
  const dialled = b.dids.length > 0 && probe === b.dids[0] && sourceOf(b, config, b.dids[b.dids.length - 1]) === b.dids[b.dids.length - 1];
  if (dialled && b.dids.length > 1) return `the number dialled (${b.dids.join(', ')}), and later texts from the number the conversation is on`;
  return sourceOf(b, config) || '(none: the modem\'s SIM number)';
}

/** The URL each carrier webhook is reached at: http.public_url, else http.listen as configured. */
export function webhookUrls(config: Config): { url: string; note?: string }[] {
  const section = (config.sms as Record<string, unknown>)[config.sms.transport] as { webhook_path?: string } | undefined;
  const path = section?.webhook_path;
  if (!path) return [];
  let hook: { url: string; note?: string };
  if (!config.http) hook = { url: path, note: 'http.listen is not set: nothing serves it; set http.listen (and http.public_url)' };
  else if (config.http.public_url) hook = { url: `${config.http.public_url.replace(/\/$/, '')}${path}` };
  else hook = { url: `http://${config.http.listen.host}:${config.http.listen.port}${path}`, note: 'as this host serves it; set http.public_url to the address the carrier uses' };
  // A carrier whose URL carries more (VoIP.ms: the token and its callback's placeholders) says so.
  const entry = TRANSPORTS[config.sms.transport];
  const settings = entry.webhookUrl ? entry.settings(config) : undefined;
  if (!entry.webhookUrl || settings === undefined) return [hook];
  const full = entry.webhookUrl(settings, hook.url);
  return [{ url: full.url, note: [hook.note, full.note].filter(Boolean).join('; ') || undefined }];
}

function configCheckJson(config: Config, warnings: string[], now: number): ConfigCheckJson {
  return {
    ok: true,
    file: config.file,
    checks: [
      { name: 'config', ok: true, detail: `${config.file}: valid (${config.businesses.length} business${config.businesses.length === 1 ? '' : 'es'}, transport ${config.sms.transport})`, fix: null },
      ...warnings.map((w) => ({ name: 'warning', ok: true, detail: w, fix: null })),
    ],
    webhooks: webhookUrls(config).map((h) => h.url),
    businesses: config.businesses.map((b) => ({
      name: b.name,
      timezone: b.timezone,
      texts_from: senderOf(b, config),
      texts: (b.messages.closed === b.messages.open ? SAMPLES.filter((x) => x.kind === 'open') : SAMPLES).map((sample) => {
        const at = sampleAt(b, sample.kind, now);
        const text = composeTextBack(b, { ...sample, endedAt: at }, { messageKind: sample.kind, now: at });
        const seg = countSegments(text);
        return { label: sample.label, at: isoTime(at, b.timezone) ?? '', text, encoding: seg.encoding, segments: seg.segments };
      }),
    })),
  };
}
