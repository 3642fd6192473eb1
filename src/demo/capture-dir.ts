// Where the demo's real Asterisk captures are (src/demo/captures/, see its README.md): beside
// this file when run from the sources, or in the source tree next to dist/ when compiled. They
// ship with `mctb demo` (scripts/install.sh and the Docker image copy src/demo/captures).

import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The folder of the `ami-*.txt` or `ari-*.jsonl` captures. */
export function captureDir(kind: 'ami' | 'ari'): string {
  const candidates = [join(__dirname, 'captures', kind), join(__dirname, '..', '..', '..', 'src', 'demo', 'captures', kind)];
  return candidates.find((p) => existsSync(p)) ?? candidates[candidates.length - 1];
}
