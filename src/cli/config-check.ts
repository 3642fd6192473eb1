// `mctb config check`: validate, then show each business's rules and its text-back as a caller
// would get it (open and closed hours), with encoding and segment count.

import { formatProblem } from '../config/load';
import { formatDuration } from '../config/load';
import { countSegments } from '../messages/encoding';
import { composeTextBack } from '../policy/compose';
import { hoursToday, isOpenAt, nextOpen } from '../policy/hours';
import { readConfig, reportConfigError } from './read-config';

/** A sample caller for the preview: a typical first name, and none. */
const SAMPLES = [
  { label: 'open, known name', kind: 'open', callerName: 'Jane Doe', number: '+14155550123' },
  { label: 'open, no name', kind: 'open', callerName: '', number: '+14155550123' },
  { label: 'closed, known name', kind: 'closed', callerName: 'Jane Doe', number: '+14155550123' },
] as const;

export function configCheck(cliPath: string | undefined, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): number {
  let result;
  try {
    result = readConfig(cliPath);
  } catch (e) {
    return reportConfigError(e, err);
  }
  const { config, warnings } = result;
  for (const w of warnings) err.write(`warning: ${formatProblem(w)}\n`);
  out.write(`${config.file}: valid (${config.businesses.length} business${config.businesses.length === 1 ? '' : 'es'}, transport ${config.sms.transport})\n`);
  let multi = 0;
  const now = Date.now();
  for (const b of config.businesses) {
    const dids = [...b.dids, ...b.did_patterns].join(', ');
    const l = b.limits;
    out.write(`\n${b.name}\n  DIDs: ${dids}\n`);
    out.write(`  time zone ${b.timezone}; ${b.hours ? `hours today: ${hoursToday(b, now)}; ${isOpenAt(b, now) ? 'open now' : `opens ${nextOpen(b, now)?.label ?? 'never (no hours in the next 14 days)'}`}` : 'no hours set: always open'}\n`);
    out.write(`  delay ${formatDuration(b.delay_ms)}, dedupe window ${formatDuration(b.dedupe_window_ms)}; texts on: ${b.missed_on.join(', ') || 'nothing (missed_on is empty)'}\n`);
    out.write(`  limits: ${l.per_hour ?? '-'}/hour, ${l.per_day ?? '-'}/day, ${l.per_prefix_per_hour ?? '-'}/hour per number block; countries: ${b.allowed_countries.join(', ')}\n`);
    const samples = b.messages.closed === b.messages.open ? SAMPLES.filter((x) => x.kind === 'open') : SAMPLES;
    for (const sample of samples) {
      const text = composeTextBack(b, { ...sample, endedAt: now }, { messageKind: sample.kind, now });
      const seg = countSegments(text);
      out.write(`  text (${b.messages.closed === b.messages.open ? sample.label.replace('open, ', '') : sample.label}): ${JSON.stringify(text)}\n    ${seg.encoding}, ${seg.units} ${seg.encoding === 'GSM-7' ? 'septets' : 'UTF-16 units'}, ${seg.segments} segment${seg.segments === 1 ? '' : 's'}\n`);
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
