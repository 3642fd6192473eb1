// Reading what an ARI WebSocket frame carries: the JSON event, its channel snapshots, times and
// bridge types, defensively (a field of the wrong type reads as absent). Pure.

export type AriEvent = Record<string, unknown>;

/** Parses one WebSocket text frame; undefined unless it is a JSON object with a string `type`. */
export function parseAriFrame(text: unknown): AriEvent | undefined {
  // Cheap pre-check, so garbage does not cost an exception; Asterisk may pretty-print (ari.conf pretty=yes).
  if (typeof text !== 'string' || text.trimStart().charCodeAt(0) !== 0x7b /* { */) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isObject(v) && typeof v.type === 'string' ? v : undefined;
}

export /** ARI channel state text → Asterisk's numeric state (AMI ChannelState). */
const STATE_NUMBER: Readonly<Record<string, number>> = {
  Down: 0,
  Rsrvd: 1,
  OffHook: 2,
  Dialing: 3,
  Ring: 4,
  Ringing: 5,
  Up: 6,
  Busy: 7,
  'Dialing Offhook': 8,
  'Pre-ring': 9,
  Unknown: 10,
};

export interface Channel {
  id: string;
  name: string;
  state: string;
  raw: Record<string, unknown>;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : '';
}

/** A channel snapshot with at least a string id; undefined otherwise. */
export function channelOf(v: unknown): Channel | undefined {
  if (!isObject(v) || typeof v.id !== 'string' || v.id === '') return undefined;
  return { id: v.id, name: str(v.name), state: str(v.state), raw: v };
}

/** "Local/101@rg-legs-00000000;1" → "Local/101@rg-legs-00000000"; undefined for other channels. */
export function localBase(name: string): string | undefined {
  if (!name.startsWith('Local/')) return undefined;
  const i = name.lastIndexOf(';');
  return i > 0 ? name.slice(0, i) : undefined;
}

export function bridgeTypeOf(bridge: Record<string, unknown>): string {
  const cls = str(bridge.bridge_class);
  if (cls === 'parking') return 'parking';
  const type = str(bridge.bridge_type);
  if (type === 'holding') return 'holding';
  return cls || type;
}

/** A channel's creationtime in ms, else `fallback`. */
export function createdAt(ch: Channel, fallback: number): number {
  const ms = typeof ch.raw.creationtime === 'string' ? Date.parse(ch.raw.creationtime) : NaN;
  return Number.isFinite(ms) ? ms : fallback;
}

/** The PBX's timestamp ("2026-11-22T11:04:35.237+0000") in ms, else `fallback`. */
export function eventTime(ev: AriEvent, fallback: number): number {
  const ts = ev.timestamp;
  if (typeof ts !== 'string') return fallback;
  const ms = Date.parse(ts);
  return Number.isFinite(ms) ? ms : fallback;
}

export function mergeBySeq<T extends { seq: number }>(a: T[], b: T[]): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i].seq < b[j].seq)) out.push(a[i++]);
    else out.push(b[j++]);
  }
  return out;
}

export function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
