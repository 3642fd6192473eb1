// (Wiring, not pure core: it names the source and link types.) A PBX source's events into the call tracker, and the calls they end into the decisions queue:
// the connection's state, the inventory of channels at (re)connection, each event, and the live
// presentation lookup (PbxSource.presentationOf) when the dialplan does not put it in the events.

import type { PbxSource } from './asterisk/source';
import type { LinkState } from './link/lifecycle';
import { part, type Logger } from './log';
import type { CallTracker } from './calls/tracker';
import type { EndedCall, InboundCallStarted } from './calls/types';

export interface FeedOptions {
  tracker: CallTracker;
  decide(ended: EndedCall[]): void;
  state(state: LinkState, detail: string): void;
  /** Ask the PBX for a new call's presentation (check_presentation). */
  askPresentation: boolean;
  log: Logger;
  clock: () => number;
}

export function feedTracker(source: PbxSource, o: FeedOptions): void {
  const { tracker } = o;
  const ready = () => {
    if (tracker.hasReady) o.decide(tracker.takeReady());
  };
  const ask = (started: InboundCallStarted) => {
    if (!o.askPresentation) return;
    void source.presentationOf(started).then((value) => {
      tracker.handle({ type: 'presentation', at: o.clock(), linkedid: started.callId, uniqueid: started.uniqueid, value: value ?? '' }, o.clock());
      ready();
    });
  };
  source.on('state', (state, detail) => {
    // Events may be missing from here on: open calls wait for the next connection's inventory.
    if (state === 'disconnected') tracker.connectionLost(o.clock());
    o.state(state, detail);
  });
  source.on('inventory', (channels, arrival) => {
    const { ended, started } = tracker.inventory(channels ?? [], arrival);
    o.decide(ended);
    if (channels && channels.length > 0) part(o.log, 'calls').info('calls in progress when mctb connected are followed from here', { channels: channels.length, calls: started.length });
    for (const s of started) ask(s);
  });
  source.on('event', (ev, arrival) => {
    const started = tracker.handle(ev, arrival);
    ready();
    if (started) ask(started);
  });
}
