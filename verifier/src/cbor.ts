// A strict CBOR (RFC 8949) reader and a deterministic writer, for the
// formats provlog defines in CBOR (claims, signed claims, receipts).
//
// The reader accepts only what the core deterministic encoding (RFC 8949
// §4.2.1) can produce, item by item: shortest-form heads, definite lengths,
// no floating-point values, no reserved additional-information values,
// strict UTF-8 in text strings, and no trailing bytes. It bounds nesting
// while reading, and checks every declared length or count against the
// bytes that remain before using it, so a hostile head costs nothing.
// Map key ORDER and duplicate keys are left to the schema layer (which
// reports them with the key's name) and to its final re-encode-and-compare.

import { compareBytes, concat, utf8, utf8Decode } from './bytes.js';
import { fail } from './errors.js';

export type Item =
  | { readonly t: 'uint'; readonly v: bigint }
  | { readonly t: 'nint'; readonly v: bigint } // the value itself, e.g. -8n
  | { readonly t: 'bytes'; readonly v: Uint8Array }
  | { readonly t: 'text'; readonly v: string }
  | { readonly t: 'array'; readonly v: readonly Item[] }
  | { readonly t: 'map'; readonly v: readonly (readonly [Item, Item])[] }
  | { readonly t: 'tag'; readonly tag: bigint; readonly v: Item }
  | { readonly t: 'simple'; readonly v: 'false' | 'true' | 'null' | 'undefined' };

export interface ReadOptions {
  /** Deepest nesting of arrays, maps and tags; the outermost container is level 1. */
  readonly maxDepth: number;
  /** Whether false/true/null/undefined may appear (else they are an error). */
  readonly allowSimple?: boolean;
}

class Reader {
  pos = 0;
  constructor(
    readonly b: Uint8Array,
    readonly opts: ReadOptions,
  ) {}

  err(msg: string): never {
    fail('cbor', `CBOR at byte ${this.pos}: ${msg}`);
  }

  byte(): number {
    if (this.pos >= this.b.length) this.err('truncated');
    return this.b[this.pos++]!;
  }

  take(n: bigint): Uint8Array {
    if (n > BigInt(this.b.length - this.pos)) this.err(`declared length ${n} runs past the end of the input`);
    const out = this.b.subarray(this.pos, this.pos + Number(n));
    this.pos += Number(n);
    return out;
  }

  /** Reads the argument of a head with additional information `ai`. */
  arg(ai: number): bigint {
    if (ai < 24) return BigInt(ai);
    let len: number;
    let min: bigint;
    switch (ai) {
      case 24:
        len = 1;
        min = 24n;
        break;
      case 25:
        len = 2;
        min = 0x100n;
        break;
      case 26:
        len = 4;
        min = 0x10000n;
        break;
      case 27:
        len = 8;
        min = 0x100000000n;
        break;
      case 31:
        return this.err('indefinite-length item');
      default:
        return this.err(`reserved additional information ${ai}`);
    }
    const start = this.pos - 1;
    let v = 0n;
    for (let i = 0; i < len; i++) v = (v << 8n) | BigInt(this.byte());
    if (v < min) {
      this.pos = start;
      this.err('integer or length not in its shortest form');
    }
    return v;
  }

  item(depth: number): Item {
    const start = this.pos;
    const ib = this.byte();
    const major = ib >> 5;
    const ai = ib & 31;
    if (major === 7) {
      switch (ai) {
        case 20:
        case 21:
        case 22:
        case 23:
          if (!this.opts.allowSimple) {
            this.pos = start;
            this.err('simple values (false, true, null, undefined) are not allowed');
          }
          return { t: 'simple', v: (['false', 'true', 'null', 'undefined'] as const)[ai - 20]! };
        case 25:
        case 26:
        case 27:
          this.pos = start;
          return this.err('floating-point values are not allowed');
        case 31:
          this.pos = start;
          return this.err('unexpected break');
        default:
          this.pos = start;
          return this.err('unassigned or reserved simple value');
      }
    }
    const v = this.arg(ai);
    switch (major) {
      case 0:
        return { t: 'uint', v };
      case 1:
        return { t: 'nint', v: -1n - v };
      case 2:
        return { t: 'bytes', v: this.take(v).slice() };
      case 3: {
        const raw = this.take(v);
        const s = utf8Decode(raw);
        if (s === null) {
          this.pos = start;
          this.err('text string is not valid UTF-8');
        }
        return { t: 'text', v: s };
      }
      case 4: {
        this.enter(depth, start);
        // Every element takes at least one byte.
        if (v > BigInt(this.b.length - this.pos)) this.err(`array of ${v} items cannot fit in the input`);
        const out: Item[] = [];
        for (let i = 0n; i < v; i++) out.push(this.item(depth + 1));
        return { t: 'array', v: out };
      }
      case 5: {
        this.enter(depth, start);
        if (2n * v > BigInt(this.b.length - this.pos)) this.err(`map of ${v} entries cannot fit in the input`);
        const out: (readonly [Item, Item])[] = [];
        for (let i = 0n; i < v; i++) {
          const k = this.item(depth + 1);
          const val = this.item(depth + 1);
          out.push([k, val]);
        }
        return { t: 'map', v: out };
      }
      case 6: {
        this.enter(depth, start);
        return { t: 'tag', tag: v, v: this.item(depth + 1) };
      }
      default:
        return this.err('unreachable major type');
    }
  }

  enter(depth: number, start: number): void {
    if (depth + 1 > this.opts.maxDepth) {
      this.pos = start;
      this.err(`nested deeper than ${this.opts.maxDepth} levels`);
    }
  }
}

/** Decodes exactly one item filling all of `b`. */
export function decode(b: Uint8Array, opts: ReadOptions): Item {
  const r = new Reader(b, opts);
  const item = r.item(0);
  if (r.pos !== b.length) r.err(`${b.length - r.pos} trailing bytes after the item`);
  return item;
}

function head(major: number, v: bigint): Uint8Array {
  const m = major << 5;
  if (v < 24n) return Uint8Array.of(m | Number(v));
  if (v < 0x100n) return Uint8Array.of(m | 24, Number(v));
  if (v < 0x10000n) return Uint8Array.of(m | 25, Number(v >> 8n), Number(v & 0xffn));
  const n = v < 0x100000000n ? 4 : 8;
  const out = new Uint8Array(1 + n);
  out[0] = m | (n === 4 ? 26 : 27);
  for (let i = n; i >= 1; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Deterministic encoding (RFC 8949 §4.2.1): shortest heads, map keys sorted by their encoding. */
export function encode(item: Item): Uint8Array {
  switch (item.t) {
    case 'uint':
      return head(0, item.v);
    case 'nint':
      return head(1, -1n - item.v);
    case 'bytes':
      return concat(head(2, BigInt(item.v.length)), item.v);
    case 'text': {
      const b = utf8(item.v);
      return concat(head(3, BigInt(b.length)), b);
    }
    case 'array':
      return concat(head(4, BigInt(item.v.length)), ...item.v.map(encode));
    case 'map': {
      const entries = item.v.map(([k, v]) => [encode(k), encode(v)] as const);
      entries.sort((a, b) => compareBytes(a[0], b[0]));
      return concat(head(5, BigInt(entries.length)), ...entries.flat());
    }
    case 'tag':
      return concat(head(6, item.tag), encode(item.v));
    case 'simple':
      return Uint8Array.of(0xe0 | { false: 20, true: 21, null: 22, undefined: 23 }[item.v]);
  }
}

// Small constructors for writers.
export const uint = (v: bigint | number): Item => ({ t: 'uint', v: BigInt(v) });
export const bytes = (v: Uint8Array): Item => ({ t: 'bytes', v });
export const text = (v: string): Item => ({ t: 'text', v });
export const array = (v: readonly Item[]): Item => ({ t: 'array', v });
export const map = (v: readonly (readonly [string, Item])[]): Item => ({ t: 'map', v: v.map(([k, x]) => [text(k), x] as const) });

/** Describes an item's type for error messages. */
export function kind(i: Item): string {
  switch (i.t) {
    case 'uint':
      return 'an unsigned integer';
    case 'nint':
      return 'a negative integer';
    case 'bytes':
      return 'a byte string';
    case 'text':
      return 'a text string';
    case 'array':
      return 'an array';
    case 'map':
      return 'a map';
    case 'tag':
      return `tag ${i.tag}`;
    case 'simple':
      return i.v;
  }
}

/**
 * Reads a map whose keys are text strings, strictly increasing in
 * deterministic order (so no duplicates), into a Map. `what` names the map
 * in errors; `check` is the error category.
 */
export function textKeyedMap(i: Item, what: string, check: 'claim' | 'receipt' | 'signed-claim'): Map<string, Item> {
  if (i.t !== 'map') fail(check, `${what} must be a map, not ${kind(i)}`);
  const out = new Map<string, Item>();
  let prev: Uint8Array | null = null;
  for (const [k, v] of i.v) {
    if (k.t !== 'text') fail(check, `${what} has a key that is ${kind(k)}, not a text string`);
    if (out.has(k.v)) fail(check, `${what} has the key "${k.v}" twice`);
    const enc = encode(k);
    if (prev !== null && compareBytes(prev, enc) > 0) fail(check, `${what} keys are not in deterministic order ("${k.v}" comes too late)`);
    prev = enc;
    out.set(k.v, v);
  }
  return out;
}
