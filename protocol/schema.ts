// A compact runtime validator: one schema per wire message, used by the tracker and every client
// alike, so the TypeScript type and the runtime check cannot drift apart. A failed check throws
// ProtocolError('request.invalid') naming the field. Unknown object keys are dropped, so a parsed
// value holds only what its schema declares. Hostile shapes (values nested 30,000 deep, huge
// lists, getters that throw, proxies, `__proto__` keys) get that same coded error, never a
// RangeError or TypeError: only own properties are read, messages never serialize the value, and
// composite parsers turn anything else thrown inside them into `request.invalid`.

import { ProtocolError } from './errors.ts';

export interface Schema<T> {
  readonly optional?: boolean;
  parse(value: unknown, path?: string): T;
}
export type Infer<S> = S extends Schema<infer T> ? T : never;

const fail = (path: string, what: string): never => {
  throw new ProtocolError('request.invalid', `${path || 'value'} ${what}`);
};

/** A short, safe description of any value for an error message: never serializes it whole. */
export function describeValue(v: unknown): string {
  try {
    if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
    if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
    if (Array.isArray(v)) return 'a list';
    return `a ${typeof v}`;
  } catch {
    return 'an unreadable value';
  }
}

/**
 * Runs a composite parser; whatever it throws besides our coded error (a stack overflow, a
 * getter's or proxy's exception) becomes `request.invalid` for the field.
 */
function guarded<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    return fail(path, 'could not be read');
  }
}

/** An own property only: `constructor`, `__proto__` and inherited getters are never read. */
function own(v: object, key: string): unknown {
  const d = Object.getOwnPropertyDescriptor(v, key);
  return d && 'value' in d ? d.value : undefined;
}

/** `max` counts UTF-16 code units; `maxBytes` bounds the UTF-8 size (what limits on the wire mean). */
export function str(opts: { min?: number; max?: number; maxBytes?: number; pattern?: RegExp } = {}): Schema<string> {
  const { min = 0, max = 1024, pattern, maxBytes } = opts;
  return {
    parse(v, path = '') {
      if (typeof v !== 'string') return fail(path, 'must be a string');
      if (v.length < min) return fail(path, `must be at least ${min} characters`);
      if (v.length > max) return fail(path, `must be at most ${max} characters`);
      if (pattern && !pattern.test(v)) return fail(path, 'has an invalid format');
      if (maxBytes !== undefined && Buffer.byteLength(v, 'utf8') > maxBytes) return fail(path, `must be at most ${maxBytes} bytes of UTF-8`);
      return v;
    },
  };
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** base64url without padding; `bytes` fixes the decoded length, `maxBytes` caps it. */
export function b64url(opts: { bytes?: number; maxBytes?: number } = {}): Schema<string> {
  const maxChars = Math.ceil(((opts.bytes ?? opts.maxBytes ?? 1024 * 1024) * 4) / 3);
  const inner = str({ min: opts.bytes ? maxChars : 1, max: maxChars, pattern: BASE64URL });
  return {
    parse(v, path = '') {
      const s = inner.parse(v, path);
      // One value, one encoding: refuse what would not re-encode to itself (stray low bits).
      const decoded = Buffer.from(s, 'base64url');
      if (decoded.toString('base64url') !== s) return fail(path, 'is not valid base64url');
      if (opts.bytes !== undefined && decoded.length !== opts.bytes) return fail(path, `must encode ${opts.bytes} bytes`);
      return s;
    },
  };
}

export function int(opts: { min?: number; max?: number } = {}): Schema<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = opts;
  return {
    parse(v, path = '') {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return fail(path, 'must be an integer');
      if (v < min || v > max) return fail(path, `must be between ${min} and ${max}`);
      return v;
    },
  };
}

export function bool(): Schema<boolean> {
  return { parse: (v, path = '') => (typeof v === 'boolean' ? v : fail(path, 'must be true or false')) };
}

export function literal<L extends string | number | boolean>(value: L): Schema<L> {
  return { parse: (v, path = '') => (v === value ? (v as L) : fail(path, `must be ${JSON.stringify(value)}`)) };
}

export function oneOf<L extends string>(...values: L[]): Schema<L> {
  return {
    parse: (v, path = '') =>
      values.includes(v as L) ? (v as L) : fail(path, `must be one of ${values.join(', ')}`),
  };
}

export function arr<T>(item: Schema<T>, opts: { max?: number } = {}): Schema<T[]> {
  const { max = 1000 } = opts;
  return {
    parse(v, path = '') {
      return guarded(path, () => {
        if (!Array.isArray(v)) return fail(path, 'must be a list');
        if (v.length > max) return fail(path, `must have at most ${max} items`);
        const out: T[] = [];
        for (let i = 0; i < v.length; i++) out.push(item.parse(own(v, String(i)), `${path}[${i}]`));
        return out;
      });
    },
  };
}

export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly optional: true;
}

export function optional<T>(inner: Schema<T>): OptionalSchema<T> {
  return { optional: true, parse: (v: unknown, path?: string) => (v === undefined ? undefined : inner.parse(v, path)) };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends OptionalSchema<unknown> ? K : never }[keyof S];
type Flatten<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<S extends Shape> = Flatten<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined> }
>;

export function obj<S extends Shape>(shape: S): Schema<ObjectOf<S>> & { shape: S } {
  return {
    shape,
    parse(v, path = '') {
      return guarded(path, () => {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(path, 'must be an object');
        // Keys come from the shape, never from the input, so `out` cannot gain a prototype key.
        const out: Record<string, unknown> = {};
        for (const [key, schema] of Object.entries(shape)) {
          const parsed = schema.parse(own(v, key), path ? `${path}.${key}` : key);
          if (parsed !== undefined) out[key] = parsed;
        }
        return out as ObjectOf<S>;
      });
    },
  };
}

/**
 * A union discriminated by `key`. Each variant's own schema excludes the key; the parsed value
 * carries it back, so the result narrows on `value[key]`.
 */
export function variants<K extends string, V extends Record<string, Schema<object>>>(
  key: K,
  table: V,
  unknownCode: 'request.invalid' | 'request.unknown_type' = 'request.invalid',
): Schema<{ [T in keyof V]: Flatten<{ [P in K]: T } & Infer<V[T]>> }[keyof V]> {
  return {
    parse(v, path = '') {
      return guarded(path, () => {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(path, 'must be an object');
        const tag = own(v, key);
        // A missing or non-string tag (a list nested 30,000 deep) is malformed input; a string
        // naming no variant is `unknownCode`. Neither message serializes the value.
        if (typeof tag !== 'string') return fail(path ? `${path}.${key}` : key, `must be a string, not ${describeValue(tag)}`);
        if (!Object.hasOwn(table, tag)) throw new ProtocolError(unknownCode, `unknown ${key} ${describeValue(tag)}`);
        return { [key]: tag, ...table[tag].parse(v, path) } as never;
      });
    },
  };
}
