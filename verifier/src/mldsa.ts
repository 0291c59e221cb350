// ML-DSA-44 (FIPS 204) as provlog uses it: pure ML-DSA.Verify with the
// empty context string (spec/notes.md §1, spec/signed-claim.md §7), key
// generation from the 32-byte seed ξ (notes.md §3.2; tests only), and the
// tlog-cosignature subtree/v1 message (notes.md §5.2).
//
// The lattice arithmetic is @noble/post-quantum's; what is provlog's is
// here: sizes, the empty context, and the message layout.

import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';
import { be64, concat, utf8 } from './bytes.js';
import type { Hash } from './hash.js';

export const MLDSA44_PUBLIC_KEY_LENGTH = 1312;
export const MLDSA44_SIGNATURE_LENGTH = 2420;
export const MLDSA44_SEED_LENGTH = 32;

/** FIPS 204 ML-DSA.Verify(pk, M, σ, ctx = ""); false (never a throw) on any malformed input. */
export function mldsa44Verify(pub: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  if (pub.length !== MLDSA44_PUBLIC_KEY_LENGTH || sig.length !== MLDSA44_SIGNATURE_LENGTH) return false;
  try {
    return ml_dsa44.verify(sig, message, pub, { context: new Uint8Array(0) });
  } catch {
    return false;
  }
}

/** The public key of a 32-byte seed ξ (FIPS 204 ML-DSA.KeyGen_internal). */
export function mldsa44PublicKeyFromSeed(seed: Uint8Array): Uint8Array {
  if (seed.length !== MLDSA44_SEED_LENGTH) throw new Error('an ML-DSA-44 seed is 32 bytes');
  return ml_dsa44.keygen(seed).publicKey;
}

/**
 * Signs (tests and fixtures only: the verifier never holds a private key).
 * Deterministic (rnd = 32 zero bytes) unless `random` is set.
 */
export function mldsa44Sign(seed: Uint8Array, message: Uint8Array, random = false): Uint8Array {
  const { secretKey } = ml_dsa44.keygen(seed);
  return ml_dsa44.sign(message, secretKey, { context: new Uint8Array(0), extraEntropy: random ? undefined : false });
}

const SUBTREE_V1 = utf8('subtree/v1\n\0');

/**
 * The subtree/v1 message (spec/notes.md §5.2) for cosigner `name` at time
 * `t` over the checkpoint (origin, 0, size, root). Name and origin must be
 * 1..255 bytes (the caller checks; this throws otherwise).
 */
export function subtreeMessage(name: string, t: bigint, origin: string, size: bigint, root: Hash): Uint8Array {
  const n = utf8(name);
  const o = utf8(origin);
  if (n.length < 1 || n.length > 255 || o.length < 1 || o.length > 255) throw new Error('subtree/v1 names and origins are 1 to 255 bytes');
  return concat(SUBTREE_V1, Uint8Array.of(n.length), n, be64(t), Uint8Array.of(o.length), o, be64(0n), be64(size), root);
}
