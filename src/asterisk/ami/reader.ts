// The AMI byte stream → frames, bounded. It replaces asterisk-manager's own reader, which keeps
// an unbounded buffer (a frame that never ends grows without limit) and copies its whole line
// array for every chunk. Frames come out in the same shape asterisk-manager gives (lower-cased
// keys, repeated keys as arrays, `Variable: X=Y` as { X: 'Y' }), so its action/response
// machinery keeps working on the responses.
//
// Copes with Asterisk ending a frame with "\r\n\n" (asterisk/asterisk #761) and with keys given
// twice (ChanVariable). A frame longer than `maxFrameBytes` is dropped, counted, and the reader
// resynchronises at the next blank line.
//
// Each line is read in place in the chunk, its field stored as it comes (no string per line, no
// line array, each key lower-cased once): 2.5 µs a frame instead of 6 (bench/, `npm run bench`).

export type AmiRecord = Record<string, unknown>;

/**
 * The events a consumer reads; the rest are skipped without being parsed (no record, no strings).
 * Most of a PBX's AMI traffic (CEL, DeviceStateChange, most VarSet, RTCP, ...) says nothing about
 * whether a person answered: parsing it was a third of the daemon's CPU under load.
 */
export interface AmiEventFilter {
  events: ReadonlySet<string>;
  /** VarSet is read only for these variables (the `Variable:` line decides). */
  variables?: ReadonlySet<string>;
  /** Of the events read, only these fields (lower-cased keys) are kept; responses keep all. */
  fields?: ReadonlySet<string>;
}

export interface AmiReaderStats {
  frames: number;
  /** Frames with no "Key: value" line, or neither Event nor Response. */
  malformed: number;
  /** Frames cut for being longer than maxFrameBytes. */
  oversized: number;
  /** Events skipped unparsed: not among those the filter asks for. */
  filtered: number;
}

const MULTI_VALUE_KEYS = new Set(['variable', 'chanvariable']);

export class AmiFrameReader {
  readonly stats: AmiReaderStats = { frames: 0, malformed: 0, oversized: 0, filtered: 0 };
  /** A VarSet the filter reads only for some variables: its Variable line is still to come. */
  private variableToCheck = false;
  /** The fields kept of the event being read (the filter's), or undefined: all. */
  private keepFields: ReadonlySet<string> | undefined;
  private pending = '';
  /** The frame being read: its fields so far (parsed line by line, no line strings kept). */
  private record: AmiRecord | undefined;
  private fields = 0;
  private frameLines = 0;
  private frameBytes = 0;
  /** Skipping the rest of an oversized frame, up to its blank line. */
  private skipping = false;
  /**
   * The start of the current line was dropped (a line longer than maxFrameBytes): what is left of
   * it up to its newline belongs to the skipped frame. Without this, a chunk boundary just before
   * that newline made the tail read as a blank line, ending the skip early, so the rest of the
   * oversized frame was parsed as a frame of its own (bug found by test/reliability).
   */
  private inDroppedLine = false;
  private sawBanner = false;

  constructor(
    private readonly onFrame: (record: AmiRecord) => void,
    private readonly maxFrameBytes = 256 * 1024,
    private readonly filter?: AmiEventFilter,
  ) {}

  push(chunk: string): void {
    let text = this.pending + chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (this.inDroppedLine) this.inDroppedLine = false; // the tail of a dropped line: skipped with its frame
      else this.line(text, start, end);
      start = nl + 1;
    }
    text = start === 0 ? text : text.slice(start);
    if (text.length > this.maxFrameBytes) {
      // A line that never ends: drop it and wait for the stream to show a frame boundary. The frame
      // is counted once, not once per chunk of the line (it was: a 2 MB line counted as 8 frames).
      if (!this.skipping) this.cut();
      this.inDroppedLine = true;
      text = '';
    }
    this.pending = text;
  }

  /** The line text[start, end), read in place. */
  private line(text: string, start: number, end: number): void {
    if (start === end) {
      if (this.skipping) this.skipping = false;
      else if (this.frameLines > 0) this.finish();
      return;
    }
    if (this.skipping) return;
    if (!this.sawBanner && this.frameLines === 0 && text.startsWith('Asterisk Call Manager/', start)) {
      this.sawBanner = true;
      return;
    }
    this.frameBytes += end - start + 2;
    if (this.frameBytes > this.maxFrameBytes) {
      this.cut();
      return;
    }
    const colon = text.indexOf(':', start);
    if (this.filter && this.frameLines === 0 && colon === start + 5 && text.startsWith('Event', start)) {
      const name = text.slice(colon + 1, end).trim();
      if (!this.filter.events.has(name)) return this.skipFiltered();
      this.variableToCheck = name === 'VarSet' && this.filter.variables !== undefined;
      this.keepFields = this.filter.fields;
    }
    this.frameLines++;
    if (colon <= start || colon >= end) return;
    const key = keyAt(text, start, colon);
    if (!key) return;
    if (this.variableToCheck && key === 'variable') {
      this.variableToCheck = false;
      const name = text.slice(colon + 1, end).trim();
      if (!this.filter!.variables!.has(name)) return this.skipFiltered();
    }
    if (this.keepFields && key !== 'event' && !this.keepFields.has(key)) return;
    const value = detach(colon + 1 < end && text.charCodeAt(colon + 1) === 32 ? text.slice(colon + 2, end) : text.slice(colon + 1, end));
    this.fields++;
    // No prototype: a key named "__proto__" or "constructor" is just a key.
    const record = (this.record ??= Object.create(null) as AmiRecord);
    if (MULTI_VALUE_KEYS.has(key)) {
      const eq = value.indexOf('=');
      let bag = record[key] as Record<string, string> | undefined;
      if (!bag || typeof bag !== 'object') record[key] = bag = Object.create(null) as Record<string, string>;
      if (eq < 0) bag[value] = '';
      else bag[value.slice(0, eq)] = value.slice(eq + 1);
      return;
    }
    const prev = record[key];
    if (prev === undefined) record[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else record[key] = [prev, value];
  }

  /** The rest of this frame is not wanted: skip it, up to its blank line. */
  private skipFiltered(): void {
    this.stats.filtered++;
    this.reset();
    this.skipping = true;
  }

  private cut(): void {
    this.stats.oversized++;
    this.reset();
    this.skipping = true;
  }

  private reset(): void {
    this.record = undefined;
    this.variableToCheck = false;
    this.keepFields = undefined;
    this.fields = 0;
    this.frameLines = 0;
    this.frameBytes = 0;
  }

  private finish(): void {
    const record = this.record;
    const fields = this.fields;
    this.reset();
    if (!record || fields === 0 || (record.event === undefined && record.response === undefined)) {
      this.stats.malformed++;
      return;
    }
    this.stats.frames++;
    this.onFrame(record);
  }
}

/** Raw key → lower-cased key: a few dozen distinct keys, so each is trimmed and lower-cased once. */
const KEYS = new Map<string, string>();
/** The same keys by length and first character, to find one in place without cutting it out. */
const KEYS_BY_SHAPE = new Map<number, [raw: string, key: string][]>();

/** The key of the line at text[start, colon): looked up in place, a string cut only the first time. */
function keyAt(text: string, start: number, colon: number): string {
  const shape = ((colon - start) << 16) | text.charCodeAt(start);
  const known = KEYS_BY_SHAPE.get(shape);
  if (known) for (const [raw, key] of known) if (text.startsWith(raw, start)) return key;
  const raw = text.slice(start, colon);
  const key = keyOf(raw);
  // Bounded like KEYS, and a few keys a shape: made-up keys cannot make a lookup long.
  if (KEYS.size < 1000 && key) {
    if (!known) KEYS_BY_SHAPE.set(shape, [[detach(raw), key]]);
    else if (known.length < 8) known.push([detach(raw), key]);
  }
  return key;
}

function keyOf(raw: string): string {
  let key = KEYS.get(raw);
  if (key === undefined) {
    key = detach(raw.trim().toLowerCase());
    // Bounded: a hostile stream of made-up keys must not grow it without end.
    if (KEYS.size < 1000) KEYS.set(detach(raw), key);
  }
  return key;
}

/**
 * The same text in a string of its own. V8 makes a slice of 13 characters or more a view into the
 * string it was cut from, so a value kept for later (the tracker keeps a call's ids, caller ID and
 * context until it is decided) would keep the whole socket chunk it arrived in alive: 64 KB per
 * value. bench/ found it: 20,000 calls waiting for the ledger held 900 MB. Concatenating makes V8
 * copy the characters into a new string; the slice is then a view into that copy alone.
 */
function detach(value: string): string {
  return value.length < 13 ? value : (' ' + value).slice(1);
}
