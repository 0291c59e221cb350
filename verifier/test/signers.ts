// Test-only signers for the vector keys (the verifier never signs): they
// craft checkpoints, claims and receipts to tamper with, from the skeys in
// spec/vectors/keys/.
import { be64, concat, toBase64, utf8 } from '../src/bytes.js';
import { publicKeyFromSeed, sign } from '../src/ed25519.js';
import { cosignatureMessage, TYPE_COSIGNATURE_V1, TYPE_ED25519, TYPE_MLDSA44 } from '../src/keytypes.js';
import { mldsa44PublicKeyFromSeed, mldsa44Sign, subtreeMessage } from '../src/mldsa.js';
import { formatVkey, parseSkey, parseVkey, type VerifierKey } from '../src/note.js';
import { parseCheckpointFields } from '../src/checkpointbody.js';
import { vecText } from './util.js';

export interface TestKey {
  readonly vkey: VerifierKey;
  readonly seed: Uint8Array;
}

export function vectorKey(name: string): TestKey {
  return parseSkey(vecText(`keys/${name}.skey`).trim());
}

/** A key of `type` with `name` and `seed` (any seed). */
export function makeKey(name: string, type: number, seed: Uint8Array): TestKey {
  const pub = type === TYPE_MLDSA44 ? mldsa44PublicKeyFromSeed(seed) : publicKeyFromSeed(seed);
  return { vkey: parseVkey(formatVkey(name, type, pub)), seed };
}

function line(k: VerifierKey, sigBytes: Uint8Array): string {
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, k.id);
  return `— ${k.name} ${toBase64(concat(id, sigBytes))}`;
}

/** A signature line by `k` over `text` for its type (0x01 plain, 0x04 and 0x06 at time t). */
export function signatureLine(k: TestKey, text: string, t = 0n): string {
  const v = k.vkey;
  if (v.type === TYPE_ED25519) return line(v, sign(k.seed, utf8(text)));
  if (v.type === TYPE_COSIGNATURE_V1) return line(v, concat(be64(t), sign(k.seed, cosignatureMessage(t, utf8(text)))));
  const cp = parseCheckpointFields(text);
  return line(v, concat(be64(t), mldsa44Sign(k.seed, subtreeMessage(v.name, t, cp.origin, cp.size, cp.root))));
}

/** The timestamp key of an Ed25519 test key (same seed, type 0x04). */
export function asTimestampKey(k: TestKey): TestKey {
  return { vkey: parseVkey(formatVkey(k.vkey.name, TYPE_COSIGNATURE_V1, k.vkey.publicKey)), seed: k.seed };
}

/** A note: the text, a blank line, the lines. */
export function note(text: string, lines: readonly string[]): string {
  return `${text}\n${lines.map((l) => l + '\n').join('')}`;
}
