// C2SP tlog-checkpoint bodies with provlog's timestamp line, and checkpoint
// verification against one log key (spec/checkpoint.md).

import { fromBase64, parseCanonicalU64 } from './bytes.js';
import { fail } from './errors.js';
import type { Hash } from './hash.js';
import { TYPE_ED25519 } from './keytypes.js';
import { type Note, parseNote, type Signer, type VerifierKey, verifyNote } from './note.js';

export interface Checkpoint {
  readonly origin: string;
  readonly size: bigint;
  readonly root: Hash;
  /** The provlog signed time in Unix milliseconds, when the line is present. */
  readonly timestampMs?: bigint;
  /** Extension lines other than the timestamp line, in order. */
  readonly extensions: readonly string[];
}

/** Parses a checkpoint body (the note text, final newline included). */
export function parseCheckpointBody(text: string): Checkpoint {
  if (!text.endsWith('\n')) fail('checkpoint', 'the checkpoint body does not end with a newline');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) fail('checkpoint', 'the checkpoint body contains a control character');
  }
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) fail('checkpoint', 'a checkpoint has at least three lines (origin, size, root)');
  const [origin, sizeText, rootText, ...ext] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) fail('checkpoint', 'the checkpoint origin is empty');
  const size = parseCanonicalU64(sizeText);
  if (size === null) fail('checkpoint', `the checkpoint size ${JSON.stringify(sizeText)} is not a canonical decimal below 2^64`);
  const root = fromBase64(rootText);
  if (root === null || root.length !== 32) fail('checkpoint', `the checkpoint root ${JSON.stringify(rootText)} is not canonical base64 of 32 bytes`);
  let timestampMs: bigint | undefined;
  const extensions: string[] = [];
  for (const [i, line] of ext.entries()) {
    if (line.length === 0) fail('checkpoint', 'the checkpoint has an empty extension line');
    if (line === 'timestamp' || line.startsWith('timestamp ')) {
      if (i !== 0) fail('checkpoint', 'the timestamp line must be the first extension line, and appear once');
      const v = parseCanonicalU64(line.slice('timestamp '.length));
      if (line === 'timestamp' || v === null) fail('checkpoint', `the timestamp line ${JSON.stringify(line)} does not hold a canonical decimal`);
      timestampMs = v;
    } else {
      extensions.push(line);
    }
  }
  return timestampMs === undefined ? { origin, size, root, extensions } : { origin, size, root, timestampMs, extensions };
}

/** A checkpoint verified under one log key. */
export interface VerifiedCheckpoint {
  readonly note: Note;
  readonly checkpoint: Checkpoint;
  readonly logKey: VerifierKey;
  readonly signers: readonly Signer[];
}

/**
 * Verifies a signed checkpoint against the log key `key` (spec/checkpoint.md
 * §3): `key` signed it (other signatures are ignored), the body parses, and
 * its origin is the key's name.
 */
export function verifyCheckpoint(noteInput: Uint8Array | string | Note, key: VerifierKey): VerifiedCheckpoint {
  if (key.type !== TYPE_ED25519) fail('key', 'a log key must be an Ed25519 (type 0x01) key');
  const note = typeof noteInput === 'object' && 'signatures' in noteInput ? noteInput : parseNote(noteInput);
  const signers = verifyNote(note, [key]);
  const checkpoint = parseCheckpointBody(note.text);
  if (checkpoint.origin !== key.name) fail('origin', `the checkpoint origin ${checkpoint.origin} is not the log key's name ${key.name}`);
  return { note, checkpoint, logKey: key, signers };
}
