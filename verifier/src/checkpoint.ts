// C2SP tlog-checkpoint bodies, the log's signed time (its timestamp
// cosignature, or the legacy timestamp line), and checkpoint verification
// against the log keys of one log (spec/checkpoint.md).

import { parseCanonicalU64 } from './bytes.js';
import { parseCheckpointFields } from './checkpointbody.js';
import { fail } from './errors.js';
import type { Hash } from './hash.js';
import { TYPE_COSIGNATURE_V1, TYPE_ED25519, TYPE_MLDSA44 } from './keytypes.js';
import { formatVkey, keyLabel, type Note, parseNote, parseVkey, type Signer, type VerifierKey, verifyNote } from './note.js';

export interface Checkpoint {
  readonly origin: string;
  readonly size: bigint;
  readonly root: Hash;
  /** The legacy timestamp line's value in Unix milliseconds (§2.3), when present. */
  readonly timestampMs?: bigint;
  /** Extension lines other than the legacy timestamp line, in order. */
  readonly extensions: readonly string[];
}

/** Parses a checkpoint body (the note text, final newline included): §1 and the legacy line of §2.3. */
export function parseCheckpointBody(text: string): Checkpoint {
  const f = parseCheckpointFields(text);
  let timestampMs: bigint | undefined;
  const extensions: string[] = [];
  for (const [i, line] of f.extensionLines.entries()) {
    if (line === 'timestamp' || line.startsWith('timestamp ')) {
      if (i !== 0) fail('checkpoint', 'the timestamp line must be the first extension line, and appear once');
      const v = parseCanonicalU64(line.slice('timestamp '.length));
      if (line === 'timestamp' || v === null) fail('checkpoint', `the timestamp line ${JSON.stringify(line)} does not hold a canonical decimal`);
      timestampMs = v;
    } else {
      extensions.push(line);
    }
  }
  const { origin, size, root } = f;
  return timestampMs === undefined ? { origin, size, root, extensions } : { origin, size, root, timestampMs, extensions };
}

/**
 * The timestamp key of an Ed25519 log key (spec/checkpoint.md §2.2): the
 * same name and public key used as a cosignature/v1 (0x04) key.
 */
export function timestampKey(logKey: VerifierKey): VerifierKey {
  if (logKey.type !== TYPE_ED25519) throw new Error('only an Ed25519 log key has a timestamp key');
  return parseVkey(formatVkey(logKey.name, TYPE_COSIGNATURE_V1, logKey.publicKey));
}

/** Where a checkpoint's log time came from (spec/checkpoint.md §2.4). */
export type LogTimeSource = 'cosignature' | 'legacy-line';

export interface LogTime {
  /** Unix milliseconds. */
  readonly ms: bigint;
  readonly source: LogTimeSource;
}

/**
 * The log time of spec/checkpoint.md §2.4 from the verified signers.
 * `timestampKeys` are the timestamp keys whose lines verified, and
 * `mldsaLogKeys` the ML-DSA-44 LOG keys (not witnesses) that signed; their
 * timestamps must all be equal; a legacy line, if also present, must agree
 * to the second. Without any of them, the legacy line counts only when an
 * Ed25519 log key signed the text.
 */
export function logTime(checkpoint: Checkpoint, timed: readonly Signer[], ed25519Signed: boolean): LogTime | undefined {
  let t: bigint | undefined;
  for (const s of timed) {
    if (s.timestamp === undefined) continue;
    if (t !== undefined && s.timestamp !== t) fail('checkpoint', `the log's timestamped signatures disagree: ${t} and ${s.timestamp}`);
    t = s.timestamp;
  }
  if (t !== undefined) {
    if (checkpoint.timestampMs !== undefined && checkpoint.timestampMs / 1000n !== t) {
      fail('checkpoint', `the legacy timestamp line (${checkpoint.timestampMs} ms) disagrees with the log's timestamp cosignature (${t} s)`);
    }
    return { ms: t * 1000n, source: 'cosignature' };
  }
  if (ed25519Signed && checkpoint.timestampMs !== undefined) return { ms: checkpoint.timestampMs, source: 'legacy-line' };
  return undefined;
}

/** A checkpoint verified under the log keys of one log. */
export interface VerifiedCheckpoint {
  readonly note: Note;
  readonly checkpoint: Checkpoint;
  /** The first log key (an Ed25519 one if any was given). */
  readonly logKey: VerifierKey;
  readonly logKeys: readonly VerifierKey[];
  readonly signers: readonly Signer[];
  /** The log's signed time (§2.4), when the checkpoint carries one. */
  readonly logTime?: LogTime;
}

function isNote(x: unknown): x is Note {
  return typeof x === 'object' && x !== null && 'signatures' in x;
}

/**
 * Verifies a signed checkpoint against the log keys `keys` of one log
 * (spec/checkpoint.md §3, `verify_checkpoint_keys`): each key is Ed25519 or
 * ML-DSA-44 with one shared name; the note verifies under those keys and the
 * timestamp keys of the Ed25519 ones, and EVERY key signed it; the body
 * parses; its origin is the keys' name; a checkpoint signed by no Ed25519
 * key has no extension lines; the log time is consistent.
 */
export function verifyCheckpointKeys(noteInput: Uint8Array | string | Note, keys: readonly VerifierKey[]): VerifiedCheckpoint {
  if (keys.length === 0) fail('key', 'no log key given');
  for (const k of keys) {
    if (k.type !== TYPE_ED25519 && k.type !== TYPE_MLDSA44) fail('key', `a log key must be an Ed25519 (0x01) or ML-DSA-44 (0x06) key, ${keyLabel(k)} is ${k.keyType.name}`);
    if (k.name !== keys[0]!.name) fail('key', `the log keys of one log share a name: ${k.name} is not ${keys[0]!.name}`);
  }
  const tsKeys = keys.filter((k) => k.type === TYPE_ED25519).map(timestampKey);
  const note = isNote(noteInput) ? noteInput : parseNote(noteInput);
  const signers = verifyNote(note, [...keys, ...tsKeys]);
  for (const k of keys) {
    if (!signers.some((s) => s.key.vkey === k.vkey)) fail('note-signature', `the checkpoint is not signed by the log key ${keyLabel(k)}`);
  }
  const checkpoint = parseCheckpointBody(note.text);
  if (checkpoint.origin !== keys[0]!.name) fail('origin', `the checkpoint origin ${checkpoint.origin} is not the log key's name ${keys[0]!.name}`);
  const ed25519 = keys.some((k) => k.type === TYPE_ED25519);
  if (!ed25519 && (checkpoint.extensions.length > 0 || checkpoint.timestampMs !== undefined)) {
    fail('checkpoint', 'extension lines are not covered by ML-DSA-44 signatures, and no Ed25519 log key signed them');
  }
  const timed = signers.filter((s) => s.key.type === TYPE_COSIGNATURE_V1 || s.key.type === TYPE_MLDSA44);
  const lt = logTime(checkpoint, timed, ed25519);
  const logKey = keys.find((k) => k.type === TYPE_ED25519) ?? keys[0]!;
  const base = { note, checkpoint, logKey, logKeys: keys, signers };
  return lt === undefined ? base : { ...base, logTime: lt };
}

/** verifyCheckpointKeys with one log key (`verify_checkpoint`). */
export function verifyCheckpoint(noteInput: Uint8Array | string | Note, key: VerifierKey): VerifiedCheckpoint {
  return verifyCheckpointKeys(noteInput, [key]);
}
