// The building blocks of the config schema: a builder for each kind of value (str(), dur(),
// list(), obj() ...) and key(), which declares a key once: its value, default, constraints, a
// one-line doc and an example. The specs are plain data, read by the walker (validate.ts) and
// the docs generator (docs.ts); each builder's return type also carries the value the spec
// yields after validation, so the type of the whole config is inferred from its declaration
// (`Infer<typeof SCHEMA>`, see types.ts).
//
// Not zod: its errors name a path in a plain JS value, while ours point at the line and column
// of the YAML node (and at a character inside it), and the walker and the docs need the spec as
// data they can read back (known keys for "did you mean", defaults run through the same checks,
// constraints written into the docs). Doing that with zod would mean rebuilding this around it.

import type { Closure, QuietHours, WeeklyHours } from './types';

/** A string; numbers and booleans written plainly (`password: 0123`) are read as their text. */
export interface StringSpec {
  kind: 'string';
  allowEmpty?: boolean;
  /** Normalised to upper case, surrounding space trimmed and inner runs of space made one (keywords). */
  upperCase?: boolean;
  maxLength?: number;
  /** Why the limit exists, appended to the length error. */
  maxLengthWhy?: string;
  /** What the text must look like; `what` completes "must be ...". */
  pattern?: { test: RegExp; what: string };
}

export interface NumberSpec {
  kind: 'number';
  integer?: boolean;
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  above?: number;
  /** Only these values (a baud rate). */
  oneOf?: readonly number[];
}

export interface BoolSpec {
  kind: 'bool';
}

/** "30s", "1h30m" → milliseconds. Bounds are written as durations too. */
export interface DurationSpec {
  kind: 'duration';
  min?: string;
  max?: string;
}

export interface EnumSpec {
  kind: 'enum';
  values: readonly string[];
}

/** ISO 3166 alpha-2 code known to libphonenumber; accepted in any case, normalised to upper case. */
export interface CountrySpec {
  kind: 'country';
}

/**
 * A phone number, normalised to E.164 with the business's country (`country`, else
 * numbers.default_country) once the business is known; the walker keeps the text as written.
 */
export interface PhoneSpec {
  kind: 'phone';
  /** Also accept DID patterns: "+" and digits ending in X's ("+1555000XXXX") or a final "*" ("+1555000*"). */
  patterns?: boolean;
  /** Also accept number prefixes: "+" and 1 to 14 digits ("+1900"), kept as given. */
  prefixes?: boolean;
}

/** An IANA time zone name ("America/Chicago"). */
export interface TimeZoneSpec {
  kind: 'timezone';
}

/** Weekly opening hours: a mapping of day keys ("mon-fri") to ranges ("08:00-12:00,13:00-17:30"). */
export interface HoursSpec {
  kind: 'hours';
}

/** A dated closure: "2026-12-25" or "2026-12-31 12:00-23:59". */
export interface ClosureSpec {
  kind: 'closure';
}

/**
 * Quiet hours: "HH:MM-HH:MM" (24-hour; may cross midnight, e.g. "21:00-08:00"; 24:00 may end
 * it), normalised to minutes since midnight; "off" or "none" is null (no quiet hours).
 */
export interface QuietHoursSpec {
  kind: 'quiet_hours';
}

/** An absolute http:// or https:// URL, kept as written (trimmed). */
export interface UrlSpec {
  kind: 'url';
}

/** "127.0.0.1:9465", "[::1]:9465" or ":9465" (loopback) → { host, port }. */
export interface ListenSpec {
  kind: 'listen';
}

/** An SMS sender: E.164 ("+15550001000") or an alphanumeric sender ID of 1–11 [A-Za-z0-9 ]; kept as given. */
export interface SenderSpec {
  kind: 'sender';
}

/** A mapping of names the admin chooses (each matching `name`) to values of one spec. */
export interface MapSpec {
  kind: 'map';
  name: RegExp;
  /** What a name must look like, for the error. */
  nameHint: string;
  value: Spec;
}

export interface ListSpec {
  kind: 'list';
  item: Spec;
  /** When set, an empty list is an error with this message. */
  nonEmpty?: string;
}

export interface ObjectSpec {
  kind: 'object';
  fields: Fields;
  /**
   * Also accept the word "off" or "none" instead of the mapping: the value is then null, which
   * load.ts reads as "disabled", so a business can switch off a mapping it would inherit.
   */
  off?: boolean;
  /** Reshapes the validated mapping (fields may be missing when they had errors). */
  then?: (value: never) => object;
}

/**
 * A secret written inline under this field's key, or read from the file named under `fileKey`
 * (trailing newlines trimmed), or taken from the environment variable `env` (when there is one),
 * which wins over both. Exactly one of the two keys, unless the variable is set or the field is
 * `optional`.
 */
export interface SecretSpec {
  kind: 'secret';
  fileKey: string;
  /** Shown under `fileKey` in the example file. */
  fileExample: string;
  env?: string;
  maxLength?: number;
  /** What the secret must look like, wherever it comes from; `what` completes "must be ...". */
  format?: { test: RegExp; what: string };
}

export type Spec =
  | StringSpec
  | NumberSpec
  | BoolSpec
  | DurationSpec
  | EnumSpec
  | CountrySpec
  | PhoneSpec
  | SenderSpec
  | TimeZoneSpec
  | HoursSpec
  | QuietHoursSpec
  | UrlSpec
  | ListenSpec
  | ClosureSpec
  | MapSpec
  | ListSpec
  | ObjectSpec
  | SecretSpec;

/** Sibling values already validated (the fields listed before), by their normalised names. */
export type Siblings = Record<string, unknown>;

/** One key: its value's spec, and what the walker and the docs need to know about it. */
export interface Field {
  spec: Spec;
  /** One line: the comment beside the key in the example file, the README table's description. */
  doc: string;
  /** Prose written above the key in the example file, for what one line cannot say. */
  about?: string;
  /** A value to show, as written in YAML, for a key without a fixed default. */
  example?: unknown;
  /** Property name in the normalised Config when it differs from the key ("delay" → "delay_ms"). */
  out?: string;
  /**
   * Value used when the key is absent, written as in YAML ("30s"); validated like a given value.
   * A function is called for the value when it is needed, with the siblings validated so far;
   * it may return undefined for none.
   */
  default?: unknown;
  /**
   * The default in words when it is not a fixed value: computed by `default`, or taken from
   * another key by load.ts ("numbers.default_country"). The key is then always set.
   */
  defaultIs?: string;
  required?: boolean;
  /** Required only when this holds for the already validated sibling values. */
  requiredIf?: { test: (siblings: Siblings) => boolean; message: string };
  /** An absent object or secret is left out instead of being filled in or required. */
  optional?: boolean;
  /**
   * An absent object is not required when this holds for the sibling values validated before it
   * (fields listed earlier): it is filled with its defaults and `fill` for its required keys,
   * without errors ("asterisk.ami" when events come over ARI).
   */
  optionalIf?: { test: (siblings: Siblings) => boolean; fill: Record<string, unknown> };
  /** Documented under this other key (a business's copy of a `defaults` key). */
  sameAs?: string;
}

export type Fields = Record<string, Field>;

// --- types carried by the specs ----------------------------------------------------------

declare const VALUE: unique symbol;

/** In the type only: the value a spec yields after validation (and after load.ts, see `reshaped`). */
export interface Typed<T> {
  readonly [VALUE]?: T;
}

export type Infer<S> = S extends Typed<infer T> ? Exclude<T, undefined> : never;

type OutName<K, F> = F extends { out: infer N extends string } ? N : K;

/** Whether the normalised config always holds the key (when it loads at all). */
type Always<F> = F extends { required: true } | { default: unknown } | { defaultIs: string } | { optionalIf: unknown }
  ? true
  : F extends { optional: true } | { requiredIf: unknown }
    ? false
    : F extends { spec: { kind: 'object' | 'secret' } }
      ? true
      : false;

/** A value that can be switched off (null) is left out of the business, so its key is optional. */
type Present<F extends Field> = null extends Infer<F['spec']> ? false : Always<F>;

type Flat<T> = { [K in keyof T]: T[K] } & {};

/** The normalised object the walker builds from `F`: keys renamed by `out`, optional where they may be absent. */
export type InferFields<F extends Fields> = Flat<
  { -readonly [K in keyof F as Present<F[K]> extends true ? OutName<K, F[K]> : never]: Exclude<Infer<F[K]['spec']>, null> } & {
    -readonly [K in keyof F as Present<F[K]> extends true ? never : OutName<K, F[K]>]?: Exclude<Infer<F[K]['spec']>, null>;
  }
>;

// --- builders -----------------------------------------------------------------------------

/**
 * Declares a key. `options` keeps its literal type, from which presence and `out` are inferred
 * (NoInfer: not from the `Field` a surrounding obj() expects, which would widen it).
 */
export function key<S extends Spec, const O extends Omit<Field, 'spec'>>(spec: S, options: O): { spec: S } & NoInfer<O> {
  return { spec, ...options };
}

export const str = (o: Omit<StringSpec, 'kind'> = {}): StringSpec & Typed<string> => ({ kind: 'string', ...o });
export const num = (o: Omit<NumberSpec, 'kind'> = {}): NumberSpec & Typed<number> => ({ kind: 'number', ...o });
export const dur = (o: Omit<DurationSpec, 'kind'> = {}): DurationSpec & Typed<number> => ({ kind: 'duration', ...o });
export const oneOf = <const V extends readonly string[]>(...values: V): EnumSpec & Typed<V[number]> => ({ kind: 'enum', values });
export const phone = (o: Omit<PhoneSpec, 'kind'> = {}): PhoneSpec & Typed<string> => ({ kind: 'phone', ...o });
export const secret = (o: Omit<SecretSpec, 'kind'>): SecretSpec & Typed<string> => ({ kind: 'secret', ...o });

export const bool: BoolSpec & Typed<boolean> = { kind: 'bool' };
export const country: CountrySpec & Typed<string> = { kind: 'country' };
export const sender: SenderSpec & Typed<string> = { kind: 'sender' };
export const timezone: TimeZoneSpec & Typed<string> = { kind: 'timezone' };
export const url: UrlSpec & Typed<string> = { kind: 'url' };
export const listen: ListenSpec & Typed<{ host: string; port: number }> = { kind: 'listen' };
export const hours: HoursSpec & Typed<WeeklyHours> = { kind: 'hours' };
export const closure: ClosureSpec & Typed<Closure> = { kind: 'closure' };
/** Null is "off": the key is then left out of the business. */
export const quietHours: QuietHoursSpec & Typed<QuietHours | null> = { kind: 'quiet_hours' };

export const list = <S extends Spec>(item: S, nonEmpty?: string): ListSpec & Typed<Infer<S>[]> => ({ kind: 'list', item, nonEmpty });

export const mapOf = <S extends Spec>(value: S, name: RegExp, nameHint: string): MapSpec & Typed<Record<string, Infer<S>>> => ({
  kind: 'map',
  name,
  nameHint,
  value,
});

export function obj<F extends Fields>(fields: F): ObjectSpec & Typed<InferFields<F>>;
export function obj<F extends Fields, U extends object>(fields: F, then: (value: InferFields<F>) => U): ObjectSpec & Typed<U>;
export function obj(fields: Fields, then?: (value: never) => object): ObjectSpec {
  return then ? { kind: 'object', fields, then } : { kind: 'object', fields };
}

/** A mapping that may also be written as "off" (null: left out of the business). */
export const objOrOff = <F extends Fields>(fields: F): ObjectSpec & Typed<InferFields<F> | null> => ({ kind: 'object', fields, off: true });

/** `spec`, typed as the value code makes of it after validation (a business, merged over `defaults` by load.ts). */
export const reshaped = <T>(spec: Spec): Spec & Typed<T> => spec;

/** The YAML keys an object accepts (a secret field accepts its file key too). */
export function knownKeys(spec: ObjectSpec): string[] {
  const keys: string[] = [];
  for (const [name, field] of Object.entries(spec.fields)) {
    keys.push(name);
    if (field.spec.kind === 'secret') keys.push(field.spec.fileKey);
  }
  return keys;
}
