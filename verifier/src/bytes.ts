// Byte helpers: hex, strict base64 (spec/notes.md conventions), strict UTF-8.

const HEX = '0123456789abcdef';

/** Lowercase hex of `b`. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += HEX[x >> 4]! + HEX[x & 15]!;
  return s;
}

/** Parses lowercase hex with exactly `len` bytes (when given); null if invalid. */
export function fromHex(s: string, len?: number): Uint8Array | null {
  if (s.length % 2 !== 0) return null;
  if (len !== undefined && s.length !== 2 * len) return null;
  if (!/^[0-9a-f]*$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Standard padded base64 (RFC 4648 §4). */
export function toBase64(b: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 3 <= b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    s += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = b.length - i;
  if (rest === 1) {
    const n = b[i]! << 16;
    s += B64[n >> 18]! + B64[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8);
    s += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + '=';
  }
  return s;
}

/** Unpadded base64url (RFC 4648 §5), as in RFC 6920 ni URIs. */
export function toBase64Url(b: Uint8Array): string {
  return toBase64(b).replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_');
}

/**
 * Strict base64 decoding: standard alphabet, padding required, no
 * whitespace or line breaks, and zero trailing bits (so every byte string
 * has exactly one accepted encoding). Returns null on any violation.
 */
export function fromBase64(s: string): Uint8Array | null {
  if (s.length % 4 !== 0) return null;
  let pad = 0;
  if (s.endsWith('==')) pad = 2;
  else if (s.endsWith('=')) pad = 1;
  const body = s.length - pad;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < body; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c]! : -1;
    if (v < 0) return null;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Leftover bits must be zero (canonical encoding).
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) return null;
  if (o !== out.length) return null;
  return out;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const ENC = new TextEncoder();

/** Strict UTF-8 decoding (no replacement characters); null if invalid. */
export function utf8Decode(b: Uint8Array): string | null {
  try {
    return STRICT_UTF8.decode(b);
  } catch {
    return null;
  }
}

/** UTF-8 encoding. */
export function utf8(s: string): Uint8Array {
  return ENC.encode(s);
}

/** Concatenation. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Byte equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytewise lexicographic comparison (shorter prefix first). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Big-endian unsigned integer of up to 8 bytes. */
export function readBigEndian(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

/** 8-byte big-endian encoding. */
export function be64(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Canonical decimal u64 as the spec uses everywhere (checkpoint sizes,
 * timestamps, indexes): ASCII digits only, no sign, no leading zero except
 * `0` itself, value below 2^64. Returns null otherwise.
 */
export function parseCanonicalU64(s: string): bigint | null {
  if (!/^(0|[1-9][0-9]*)$/.test(s)) return null;
  if (s.length > 20) return null;
  const v = BigInt(s);
  if (v >= 1n << 64n) return null;
  return v;
}

export const U64_MAX = (1n << 64n) - 1n;
