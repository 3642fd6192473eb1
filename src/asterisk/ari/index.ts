// The ARI source, as registered in src/adapters.ts.

import type { AriConfig } from '../../config/types';
import { part } from '../../log';
import type { SourceEntry } from '../source';
import { checkAri } from './doctor';
import { AriSource } from './source';

export const ari: SourceEntry<AriConfig> = {
  name: 'ari',
  section: 'asterisk.ari',
  settings: (config) => config.asterisk.ari,
  create: (settings, log, clock) => new AriSource(settings, part(log, 'ari'), clock),
  doctor: checkAri,
};
