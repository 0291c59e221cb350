// The signature-type registry of signed notes (spec/notes.md §1). Each key
// type knows its public key length, how to validate a public key, and how to
// verify a note signature line's bytes over a note text. Parsing and
// verification look types up here, so a new type (e.g. ML-DSA-44, once the
// spec defines its type byte and signature layout) is one registration,
// with no change to the note, checkpoint or policy code.

import { be64, concat, readBigEndian, utf8 } from './bytes.js';
import { isValidPublicKey, verifyStrict } from './ed25519.js';

/** Outcome of checking one signature line against its key. */
export type LineCheck = { ok: true; timestamp?: bigint } | { ok: false; reason: string };

export interface KeyType {
  /** The type byte hashed into the key ID and prefixed to the key bytes. */
  readonly type: number;
  /** Display name. */
  readonly name: string;
  /** What such a key signs: a log's checkpoints, or witness cosignatures. */
  readonly role: 'log' | 'witness';
  /** Exact length of the public key bytes (after the type byte). */
  readonly publicKeyLength: number;
  /** Whether `pub` is acceptable (e.g. a valid, non-small-order point). */
  validatePublicKey(pub: Uint8Array): boolean;
  /** Verifies a note signature (the bytes after the 4-byte key ID) over `text`. */
  verifyNote(pub: Uint8Array, text: Uint8Array, sig: Uint8Array): LineCheck;
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
const MAX_COSIGNATURE_TIME = (1n << 63n) - 1n;

/** The message a cosignature/v1 signature covers (spec/notes.md §5). */
export function cosignatureMessage(t: bigint, text: Uint8Array): Uint8Array {
  return concat(utf8(`cosignature/v1\ntime ${t.toString()}\n`), text);
}

registerKeyType({
  type: TYPE_ED25519,
  name: 'Ed25519',
  role: 'log',
  publicKeyLength: 32,
  validatePublicKey: isValidPublicKey,
  verifyNote(pub, text, sig) {
    if (sig.length !== 64) return { ok: false, reason: `an Ed25519 signature is 64 bytes, this one is ${sig.length}` };
    return verifyStrict(pub, text, sig) ? { ok: true } : { ok: false, reason: 'the Ed25519 signature does not verify' };
  },
});

registerKeyType({
  type: TYPE_COSIGNATURE_V1,
  name: 'cosignature/v1',
  role: 'witness',
  publicKeyLength: 32,
  validatePublicKey: isValidPublicKey,
  verifyNote(pub, text, sig) {
    if (sig.length !== 72) return { ok: false, reason: `a cosignature/v1 signature is 72 bytes, this one is ${sig.length}` };
    const t = readBigEndian(sig.subarray(0, 8));
    if (t > MAX_COSIGNATURE_TIME) return { ok: false, reason: 'cosignature timestamp is above 2^63 - 1' };
    const ok = verifyStrict(pub, cosignatureMessage(t, text), sig.subarray(8));
    return ok ? { ok: true, timestamp: t } : { ok: false, reason: 'the cosignature/v1 signature does not verify' };
  },
});

export { be64 };
