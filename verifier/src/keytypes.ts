// The signature-type registry of signed notes (spec/notes.md §1). Each key
// type knows its public key length, how to validate a public key, and how to
// verify a note signature line's bytes over a note text. Parsing and
// verification look types up here, so a new type is one registration, with
// no change to the note, checkpoint or policy code.

import { be64, concat, readBigEndian, utf8 } from './bytes.js';
import { parseCheckpointFields } from './checkpointbody.js';
import { isValidPublicKey, publicKeyFromSeed, verifyStrict } from './ed25519.js';
import { VerifyError } from './errors.js';
import { MLDSA44_PUBLIC_KEY_LENGTH, MLDSA44_SIGNATURE_LENGTH, mldsa44PublicKeyFromSeed, mldsa44Verify, subtreeMessage } from './mldsa.js';

/** Outcome of checking one signature line against its key. */
export type LineCheck = { ok: true; timestamp?: bigint } | { ok: false; reason: string };

export interface KeyType {
  /** The type byte hashed into the key ID and prefixed to the key bytes. */
  readonly type: number;
  /** Display name. */
  readonly name: string;
  /** What such a key may sign in a policy: a log's checkpoints, witness cosignatures, or both. */
  readonly roles: readonly ('log' | 'witness')[];
  /** Exact length of the public key bytes (after the type byte). */
  readonly publicKeyLength: number;
  /** Longest key name in UTF-8 bytes, when the type limits it. */
  readonly maxNameBytes?: number;
  /** Whether `pub` is acceptable (e.g. a valid, non-small-order point). */
  validatePublicKey(pub: Uint8Array): boolean;
  /** The public key of a 32-byte private key seed (skeys, spec/notes.md §3.2). */
  publicKeyFromSeed(seed: Uint8Array): Uint8Array;
  /**
   * Verifies a note signature (the bytes after the 4-byte key ID) by the
   * key `name` / `pub` over the note text (as a string and as its bytes).
   */
  verifyNote(pub: Uint8Array, name: string, text: NoteText, sig: Uint8Array): LineCheck;
}

/** A note text in both forms. */
export interface NoteText {
  readonly text: string;
  readonly textBytes: Uint8Array;
}

const registry = new Map<number, KeyType>();

/** Adds a key type; the type byte must be new. */
export function registerKeyType(k: KeyType): void {
  if (registry.has(k.type)) throw new Error(`key type 0x${k.type.toString(16)} is already registered`);
  registry.set(k.type, k);
}

/** The registered key type for a type byte, if any. */
export function keyType(type: number): KeyType | undefined {
  return registry.get(type);
}

export const TYPE_ED25519 = 0x01;
export const TYPE_COSIGNATURE_V1 = 0x04;
export const TYPE_MLDSA44 = 0x06;
const MAX_COSIGNATURE_TIME = (1n << 63n) - 1n;

/** The message a cosignature/v1 signature covers (spec/notes.md §5). */
export function cosignatureMessage(t: bigint, text: Uint8Array): Uint8Array {
  return concat(utf8(`cosignature/v1\ntime ${t.toString()}\n`), text);
}

registerKeyType({
  type: TYPE_ED25519,
  name: 'Ed25519',
  roles: ['log'],
  publicKeyLength: 32,
  validatePublicKey: isValidPublicKey,
  publicKeyFromSeed,
  verifyNote(pub, _name, { textBytes }, sig) {
    if (sig.length !== 64) return { ok: false, reason: `an Ed25519 signature is 64 bytes, this one is ${sig.length}` };
    return verifyStrict(pub, textBytes, sig) ? { ok: true } : { ok: false, reason: 'the Ed25519 signature does not verify' };
  },
});

registerKeyType({
  type: TYPE_COSIGNATURE_V1,
  name: 'cosignature/v1',
  roles: ['witness'],
  publicKeyLength: 32,
  validatePublicKey: isValidPublicKey,
  publicKeyFromSeed,
  verifyNote(pub, _name, { textBytes: text }, sig) {
    if (sig.length !== 72) return { ok: false, reason: `a cosignature/v1 signature is 72 bytes, this one is ${sig.length}` };
    const t = readBigEndian(sig.subarray(0, 8));
    if (t > MAX_COSIGNATURE_TIME) return { ok: false, reason: 'cosignature timestamp is above 2^63 - 1' };
    const ok = verifyStrict(pub, cosignatureMessage(t, text), sig.subarray(8));
    return ok ? { ok: true, timestamp: t } : { ok: false, reason: 'the cosignature/v1 signature does not verify' };
  },
});

registerKeyType({
  type: TYPE_MLDSA44,
  name: 'ML-DSA-44 subtree/v1',
  // A log's ML-DSA-44 checkpoint signature IS a subtree/v1 cosignature
  // (spec/checkpoint.md §2.2), so one type serves both roles.
  roles: ['log', 'witness'],
  publicKeyLength: MLDSA44_PUBLIC_KEY_LENGTH,
  maxNameBytes: 255,
  // FIPS 204 pkDecode accepts any 1,312 bytes (spec/notes.md §3.1).
  validatePublicKey: (pub) => pub.length === MLDSA44_PUBLIC_KEY_LENGTH,
  publicKeyFromSeed: mldsa44PublicKeyFromSeed,
  verifyNote(pub, name, { text }, sig) {
    const want = 8 + MLDSA44_SIGNATURE_LENGTH;
    if (sig.length !== want) return { ok: false, reason: `an ML-DSA-44 subtree/v1 signature is ${want} bytes, this one is ${sig.length}` };
    const t = readBigEndian(sig.subarray(0, 8));
    if (t > MAX_COSIGNATURE_TIME) return { ok: false, reason: 'cosignature timestamp is above 2^63 - 1' };
    // The message is built from the checkpoint's fields: a text that is not
    // a checkpoint body (spec/checkpoint.md §1) cannot carry a valid 0x06
    // signature (spec/notes.md §5.2).
    let cp;
    try {
      cp = parseCheckpointFields(text);
    } catch (e) {
      if (e instanceof VerifyError) return { ok: false, reason: `an ML-DSA-44 subtree/v1 signature needs a checkpoint text: ${e.message}` };
      throw e;
    }
    if (utf8(cp.origin).length > 255) return { ok: false, reason: 'subtree/v1 signs origins of at most 255 bytes' };
    const ok = mldsa44Verify(pub, subtreeMessage(name, t, cp.origin, cp.size, cp.root), sig.subarray(8));
    return ok ? { ok: true, timestamp: t } : { ok: false, reason: 'the ML-DSA-44 subtree/v1 signature does not verify' };
  },
});

export { be64 };
