// `mctb config check`: validate, then show each business's text-back as a caller would get it,
// with its encoding and segment count.

import { formatProblem } from '../config/load';
import { formatDuration } from '../config/load';
import { countSegments } from '../messages/encoding';
import { composeTextBack } from '../policy/compose';
import { readConfig, reportConfigError } from './read-config';

/** A sample caller for the preview: a typical first name, and none. */
const SAMPLES = [
  { label: 'known name', callerName: 'Jane Doe', number: '+14155550123' },
  { label: 'no name', callerName: '', number: '+14155550123' },
];

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
  for (const b of config.businesses) {
    out.write(`\n${b.name}\n  DIDs: ${b.dids.join(', ')}\n  delay ${formatDuration(b.delay_ms)}, dedupe window ${formatDuration(b.dedupe_window_ms)}\n`);
    for (const sample of SAMPLES) {
      const text = composeTextBack(b, sample);
      const seg = countSegments(text);
      out.write(`  text (${sample.label}): ${JSON.stringify(text)}\n    ${seg.encoding}, ${seg.units} ${seg.encoding === 'GSM-7' ? 'septets' : 'UTF-16 units'}, ${seg.segments} segment${seg.segments === 1 ? '' : 's'}\n`);
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
