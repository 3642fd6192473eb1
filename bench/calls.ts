// Call streams for the benchmarks: the real captures in src/demo/captures/ami, replayed as many
// distinct calls. Each copy gets fresh PBX ids (the Uniqueid/Linkedid epoch shifted, exactly as
// src/demo/ami-replay.ts rewriteCapture does) and a fresh caller number, so the ledger never
// sees a replay and the policy never dedupes.
//
// Rendering must be cheap (the latency phase makes 1,000 calls a second from the same process
// that measures them), so each capture is cut once into literal pieces and the spots that
// change; a self-check compares the result with rewriteCapture byte for byte.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCapture, rewriteCapture } from '../src/demo/ami-replay';
import { classifyNumber } from '../src/numbers/phone';

/** Uniqueid/Linkedid "<epoch>.<seq>", as rewriteCapture matches them. */
const ID_RE = /\b(1\d{9})\.(\d+)\b/g;
/** Caller numbers as the captures carry them: "+1" and ten digits. */
const NUMBER_RE = /\+1\d{10}\b/g;

type Piece = string | { epoch: number } | { number: string };

/** A capture cut into pieces: literals, epochs to shift, caller numbers to swap. */
class Template {
  private readonly pieces: Piece[] = [];

  constructor(text: string, numbers: readonly string[]) {
    const spots: { at: number; len: number; piece: Piece }[] = [];
    for (const m of text.matchAll(ID_RE)) spots.push({ at: m.index!, len: m[1].length, piece: { epoch: Number(m[1]) } });
    for (const m of text.matchAll(NUMBER_RE)) if (numbers.includes(m[0])) spots.push({ at: m.index!, len: m[0].length, piece: { number: m[0] } });
    spots.sort((a, b) => a.at - b.at);
    let pos = 0;
    for (const s of spots) {
      this.pieces.push(text.slice(pos, s.at), s.piece);
      pos = s.at + s.len;
    }
    this.pieces.push(text.slice(pos));
  }

  render(shiftSeconds: number, numbers: Readonly<Record<string, string>>): string {
    let out = '';
    for (const p of this.pieces) {
      if (typeof p === 'string') out += p;
      else if ('epoch' in p) out += String(p.epoch + shiftSeconds);
      else out += numbers[p.number] ?? p.number;
    }
    return out;
  }
}

export interface Scenario {
  name: string;
  /** The capture's events as streamed (all of them, or what the PBX's eventfilter lets through). */
  text: string;
  /** AMI frames with an `Event:` line (what the bare client counts as managerevents). */
  events: number;
  /** Calls (distinct Linkedids): rows the ledger gets. */
  calls: number;
  bytes: number;
  /** Caller numbers in the capture (each copy gets a fresh one per number). */
  numbers: string[];
  /** The caller's channel (the trunk leg), for the Getvar answer. */
  rootChannel: string;
  /** Everything up to the caller's final Hangup frame, and that frame with the rest. */
  head: Template;
  tail: Template;
}

/** Every capture's epochs lie within this many seconds: copies shifted by it never collide. */
const SHIFT_STEP = 1000;
/** The largest epoch that still matches rewriteCapture's 10-digit pattern. */
const MAX_EPOCH = 1_999_999_999;

/**
 * The eventfilter lines of the AMI user mctb ships (dialplan/manager_mctb.conf). Asterisk sends an
 * event when any of them, an unanchored regular expression, matches its text.
 */
export function managerEventFilters(file = join(__dirname, '..', '..', 'dialplan', 'manager_mctb.conf')): RegExp[] {
  const filters = [...readFileSync(file, 'utf8').matchAll(/^eventfilter\s*=\s*([^;\r\n]*?)\s*(?:;.*)?$/gm)].map((m) => new RegExp(m[1]));
  if (filters.length === 0) throw new Error(`${file}: no eventfilter lines`);
  return filters;
}

/** A capture as Asterisk sends it to a user with these eventfilters: responses, and the events one matches. */
export function applyEventFilters(text: string, filters: readonly RegExp[]): string {
  return text
    .split(/(?<=\r\n\r\n)/)
    .filter((frame) => !frame.startsWith('Event: ') || filters.some((f) => f.test(frame.replace(/\r\n\r\n$/, ''))))
    .join('');
}

/**
 * The captures the figures in bench/results.json were measured on: one real call each (or two).
 * Later captures (Local originates, presentation in the stream, inventories, a PBX restart) test
 * other things and would change the mix, so the bench keeps to these.
 */
export const BENCH_CAPTURES = [
  'anonymous', 'anonymous-pai', 'answered', 'busy', 'cancel', 'chanunavail', 'noanswer', 'queue-abandon',
  'repeat-caller', 'ringgroup-answered', 'ringgroup-noanswer', 'voicemail',
] as const;

export function loadScenarios(names?: readonly string[], filters?: readonly RegExp[]): Scenario[] {
  const all = [...BENCH_CAPTURES];
  return (names ?? all).map((name) => {
    const text = filters ? applyEventFilters(loadCapture(name), filters) : loadCapture(name);
    const numbers = [...new Set(text.match(/^CallerIDNum: (\+1\d{10})\r$/gm)?.map((l) => l.slice(13, -1)) ?? [])];
    const linkedids = [...new Set([...text.matchAll(/^Linkedid: (\S+)\r$/gm)].map((m) => m[1]))];
    const root = linkedids[linkedids.length - 1];
    // The last call's trunk channel hangs up last: split just before that Hangup frame.
    const frames = frameStarts(text);
    const hangupAt = frames.filter((at) => text.startsWith('Event: Hangup\r\n', at) && frameHas(text, at, `Uniqueid: ${root}`)).pop();
    if (hangupAt === undefined) throw new Error(`${name}: no Hangup of ${root}`);
    const newchannel = frames.find((at) => text.startsWith('Event: Newchannel\r\n', at) && frameHas(text, at, `Uniqueid: ${root}`));
    const rootChannel = /\r\nChannel: ([^\r]+)\r\n/.exec(text.slice(newchannel, text.indexOf('\r\n\r\n', newchannel)))?.[1] ?? '';
    return {
      name,
      text,
      events: (text.match(/^Event: /gm) ?? []).length,
      calls: linkedids.length,
      bytes: Buffer.byteLength(text),
      numbers,
      rootChannel,
      head: new Template(text.slice(0, hangupAt), numbers),
      tail: new Template(text.slice(hangupAt), numbers),
    };
  });
}

function frameStarts(text: string): number[] {
  const out = [0];
  for (let i = text.indexOf('\r\n\r\n'); i >= 0; i = text.indexOf('\r\n\r\n', i + 4)) if (i + 4 < text.length) out.push(i + 4);
  return out;
}

function frameHas(text: string, at: number, line: string): boolean {
  const end = text.indexOf('\r\n\r\n', at);
  return text.slice(at, end < 0 ? undefined : end).includes(`\r\n${line}\r\n`);
}

/**
 * Fresh, valid US caller numbers (+1 NPA NXX XXXX), the same length as the captures' so every
 * copy has the same byte count. Exchanges the numbering plan rejects are skipped once, up front.
 */
export class NumberPool {
  private readonly prefixes: string[] = [];
  private next = 0;

  constructor() {
    for (const npa of ['212', '206', '305', '312', '408', '415', '503', '617', '702', '718']) {
      for (let nxx = 200; nxx <= 999; nxx++) {
        if (nxx % 100 === 11 || nxx === 555 || nxx === 950 || nxx === 958 || nxx === 959 || nxx === 976) continue;
        const probe = classifyNumber(`+1${npa}${nxx}4321`, 'US');
        if (probe?.valid && probe.region === 'US' && !['premium_rate', 'shared_cost', 'toll_free'].includes(probe.kind)) this.prefixes.push(`+1${npa}${nxx}`);
      }
    }
  }

  take(): string {
    const i = this.next++;
    const prefix = this.prefixes[i % this.prefixes.length];
    const line = Math.floor(i / this.prefixes.length);
    if (line > 9999) throw new Error('number pool exhausted');
    return prefix + String(line).padStart(4, '0');
  }
}

/** Hands out distinct epoch shifts, so no two copies anywhere in one bench run share a PBX id. */
export class ShiftPool {
  private next = 1;
  take(): number {
    const shift = this.next++ * SHIFT_STEP;
    if (1_795_345_732 + shift > MAX_EPOCH) throw new Error('epoch shifts exhausted');
    return shift;
  }
}

/** One copy of a scenario as a new call: its bytes up to the caller's hangup, and from it. */
export interface RenderedCall {
  head: string;
  tail: string;
  /** The fresh caller number(s), first one is the caller of the (last) call. */
  numbers: string[];
}

export function renderCall(s: Scenario, shifts: ShiftPool, pool: NumberPool): RenderedCall {
  const shift = shifts.take();
  const map: Record<string, string> = {};
  for (const n of s.numbers) map[n] = pool.take();
  return { head: s.head.render(shift, map), tail: s.tail.render(shift, map), numbers: s.numbers.map((n) => map[n]) };
}

/** Fails loudly if the templates ever stop matching rewriteCapture (the project's own rewrite). */
export function selfCheck(scenarios: readonly Scenario[]): void {
  for (const s of scenarios) {
    const map = Object.fromEntries(s.numbers.map((n, i) => [n, `+1999000${String(i).padStart(4, '0')}`]));
    const ours = s.head.render(7000, map) + s.tail.render(7000, map);
    if (ours !== rewriteCapture(s.text, 7000, map)) throw new Error(`bench template for ${s.name} differs from rewriteCapture`);
  }
}
