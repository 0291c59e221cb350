// Strict Ed25519 verification as spec/notes.md §6 step 3 defines it (the
// rule ed25519-dalek calls verify_strict), built from curve arithmetic so
// that every condition is explicit:
//
//   - the public key A decodes to a curve point (y is read from the low 255
//     bits, as RFC 8032 §5.1.3 decoding does) that is not of small order;
//   - R (the first half of the signature) decodes to a point that is not of
//     small order;
//   - S (the second half, little-endian) is below the group order L;
//   - with k = SHA-512(R || A || message) mod L, the point [S]B - [k]A
//     encodes (canonically) to exactly the 32 bytes of R: the cofactorless
//     equation, so a non-canonical R never verifies.
//
// noble's own verify() uses the cofactored equation, which accepts some
// signatures this rule rejects; it is therefore not used here.
//
// Vendor signatures on claims use a different rule since the 2026-12
// revision (spec/signed-claim.md §1.1, ZIP-215): verifyZip215 below.

import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesEqual, concat } from './bytes.js';

const Point = ed25519.Point;
const L = Point.Fn.ORDER;

function le(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

type EdPoint = ReturnType<typeof Point.fromBytes>;

function decode(b: Uint8Array): EdPoint | null {
  try {
    // zip215=true: accept y >= p like RFC 8032 decoding of the low 255 bits
    // (ed25519-dalek's decompression); canonicality of R is enforced by the
    // final byte comparison instead.
    return Point.fromBytes(b, true);
  } catch {
    return null;
  }
}

/** True when `pub` is a 32-byte Ed25519 point that is not of small order. */
export function isValidPublicKey(pub: Uint8Array): boolean {
  if (pub.length !== 32) return false;
  const a = decode(pub);
  return a !== null && !a.isSmallOrder();
}

/** Strict Ed25519 verification (see the module comment). */
export function verifyStrict(pub: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  if (pub.length !== 32 || sig.length !== 64) return false;
  const a = decode(pub);
  if (a === null || a.isSmallOrder()) return false;
  const rBytes = sig.subarray(0, 32);
  const r = decode(rBytes);
  if (r === null || r.isSmallOrder()) return false;
  const s = le(sig.subarray(32, 64));
  if (s >= L) return false;
  const k = le(sha512(concat(rBytes, pub, message))) % L;
  const check = Point.BASE.multiplyUnsafe(s).subtract(a.multiplyUnsafe(k));
  return bytesEqual(check.toBytes(), rBytes);
}

/**
 * Ed25519 under the ZIP-215 rules, the rule for vendor signatures on claims
 * (spec/signed-claim.md §1.1; the Rust reference is ed25519-zebra):
 *
 *   - A and R decode as above, non-canonical encodings (y >= p, x = 0 with
 *     the sign bit set) accepted, points of small or mixed order accepted;
 *   - S (little-endian) is below L;
 *   - with k = SHA-512(R_bytes || A_bytes || message) mod L over the bytes as
 *     given, the cofactored equation [8]([S]B - [k]A - R) = identity holds.
 *
 * Keys of small order are refused by the claim's kid check
 * (isValidPublicKey), not here.
 */
export function verifyZip215(pub: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  if (pub.length !== 32 || sig.length !== 64) return false;
  const a = decode(pub);
  if (a === null) return false;
  const rBytes = sig.subarray(0, 32);
  const r = decode(rBytes);
  if (r === null) return false;
  const s = le(sig.subarray(32, 64));
  if (s >= L) return false;
  const k = le(sha512(concat(rBytes, pub, message))) % L;
  const sB = s === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(s);
  const kA = k === 0n ? Point.ZERO : a.multiplyUnsafe(k);
  return sB.subtract(kA).subtract(r).clearCofactor().is0();
}

/** Public key of a 32-byte RFC 8032 seed. */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(seed);
}

/** Signs (tests and fixtures only: the verifier never holds a private key). */
export function sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, seed);
}
