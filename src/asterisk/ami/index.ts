// The AMI source, as registered in src/adapters.ts.

import type { AmiConfig } from '../../config/types';
import { part } from '../../log';
import type { SourceEntry } from '../source';
import { checkAmi } from './doctor';
import { CALL_EVENT_FILTER } from './events';
import { AmiSource } from './source';

export const ami: SourceEntry<AmiConfig> = {
  name: 'ami',
  section: 'asterisk.ami',
  settings: (config) => config.asterisk.ami,
  // The reader parses only the events that can become call events.
  create: (settings, log, clock) => new AmiSource(settings, part(log, 'ami'), clock, CALL_EVENT_FILTER),
  doctor: checkAmi,
};
