// C2SP signed notes, key names, key IDs, vkeys and skeys (spec/notes.md).

import { bytesEqual, concat, fromBase64, readBigEndian, toBase64, utf8, utf8Decode } from './bytes.js';
import { fail } from './errors.js';
import { sha256 } from './hash.js';
import { keyType, type KeyType } from './keytypes.js';

/** Unicode White_Space (spec/notes.md §2). */
const WHITE_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;
/** Unicode general category Cc. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether `s` is well-formed Unicode (so it has a UTF-8 encoding). */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** Why `name` is not a valid key name, or null when it is (spec/notes.md §2). */
export function keyNameProblem(name: string): string | null {
  if (name.length === 0) return 'the key name is empty';
  if (!isWellFormed(name)) return 'the key name is not valid Unicode';
  if (name.includes('+')) return 'the key name contains "+"';
  if (WHITE_SPACE.test(name)) return 'the key name contains white space';
  if (CONTROL.test(name)) return 'the key name contains a control character';
  return null;
}

/** Key ID: first 4 bytes, big-endian, of SHA-256(name || 0x0A || type || key). */
export function keyId(name: string, type: number, pub: Uint8Array): number {
  const h = sha256(concat(utf8(name), Uint8Array.of(0x0a, type), pub));
  return Number(readBigEndian(h.subarray(0, 4)));
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** A parsed verifier key. */
export interface VerifierKey {
  readonly name: string;
  readonly id: number;
  readonly type: number;
  readonly publicKey: Uint8Array;
  readonly keyType: KeyType;
  /** The canonical vkey string. */
  readonly vkey: string;
}

/**
 * A short label for messages: the vkey itself for Ed25519-sized keys, and
 * `name+id (type)` for long (ML-DSA-44, ~1.8 KB) ones.
 */
export function keyLabel(k: VerifierKey): string {
  return k.vkey.length <= 120 ? k.vkey : `${k.name}+${hex8(k.id)} (${k.keyType.name})`;
}

/** Formats a verifier key string. */
export function formatVkey(name: string, type: number, pub: Uint8Array): string {
  return `${name}+${hex8(keyId(name, type, pub))}+${toBase64(concat(Uint8Array.of(type), pub))}`;
}

/** Longest base64 part of a key string (spec/notes.md §3.1). */
export const MAX_KEY_BASE64 = 1800;

function parseKeyFields(name: string, idText: string, b64: string, what: string, keyLength: (kt: KeyType) => number): { type: number; kt: KeyType; key: Uint8Array; id: number } {
  const np = keyNameProblem(name);
  if (np) fail('key', `${what}: ${np}`);
  if (!/^[0-9a-f]{8}$/.test(idText)) fail('key', `${what}: the key ID must be exactly 8 lowercase hex digits`);
  if (b64.length > MAX_KEY_BASE64) fail('key', `${what}: the key is longer than ${MAX_KEY_BASE64} base64 characters`);
  const raw = fromBase64(b64);
  if (raw === null) fail('key', `${what}: the key is not canonical base64`);
  if (raw.length < 1) fail('key', `${what}: the key is empty`);
  const type = raw[0]!;
  const kt = keyType(type);
  if (!kt) fail('key', `${what}: unsupported key type 0x${type.toString(16).padStart(2, '0')}`);
  const key = raw.slice(1);
  const len = keyLength(kt);
  if (key.length !== len) fail('key', `${what}: a ${kt.name} key is ${1 + len} bytes with its type, this one is ${raw.length}`);
  if (kt.maxNameBytes !== undefined && utf8(name).length > kt.maxNameBytes) fail('key', `${what}: a ${kt.name} key name is at most ${kt.maxNameBytes} bytes`);
  return { type, kt, key, id: parseInt(idText, 16) };
}

/** Parses a vkey `<name>+<hex8 id>+<base64(type || key)>` (spec/notes.md §3.1). */
export function parseVkey(s: string): VerifierKey {
  if (!isWellFormed(s)) fail('key', 'vkey: not valid Unicode');
  const p1 = s.indexOf('+');
  const p2 = p1 < 0 ? -1 : s.indexOf('+', p1 + 1);
  if (p1 < 0 || p2 < 0) fail('key', 'vkey: expected <name>+<key ID>+<key>');
  const name = s.slice(0, p1);
  const { type, kt, key, id } = parseKeyFields(name, s.slice(p1 + 1, p2), s.slice(p2 + 1), 'vkey', (kt) => kt.publicKeyLength);
  if (!kt.validatePublicKey(key)) fail('key', 'vkey: the public key is not a valid point, or is of small order');
  if (keyId(name, type, key) !== id) fail('key', 'vkey: the key ID does not match the name and key');
  return { name, id, type, publicKey: key, keyType: kt, vkey: formatVkey(name, type, key) };
}

/**
 * Parses a private key `PRIVATE+KEY+<name>+<hex8 id>+<base64(type || seed)>`
 * (spec/notes.md §3.2) and returns the matching verifier key and the seed.
 * Only the test suite needs this: the verifier itself never holds secrets.
 */
export function parseSkey(s: string): { vkey: VerifierKey; seed: Uint8Array } {
  const prefix = 'PRIVATE+KEY+';
  if (!s.startsWith(prefix)) fail('key', 'skey: missing PRIVATE+KEY+ prefix');
  const rest = s.slice(prefix.length);
  const p1 = rest.indexOf('+');
  const p2 = p1 < 0 ? -1 : rest.indexOf('+', p1 + 1);
  if (p1 < 0 || p2 < 0) fail('key', 'skey: expected PRIVATE+KEY+<name>+<key ID>+<key>');
  const name = rest.slice(0, p1);
  // Every key type's private key is a 32-byte seed (Ed25519: RFC 8032;
  // ML-DSA-44: FIPS 204's ξ).
  const { type, kt, key: seed, id } = parseKeyFields(name, rest.slice(p1 + 1, p2), rest.slice(p2 + 1), 'skey', () => 32);
  const pub = kt.publicKeyFromSeed(seed);
  if (!kt.validatePublicKey(pub)) fail('key', 'skey: the derived public key is of small order');
  if (keyId(name, type, pub) !== id) fail('key', 'skey: the key ID is not that of the derived public key');
  return { vkey: { name, id, type, publicKey: pub, keyType: kt, vkey: formatVkey(name, type, pub) }, seed };
}

// ---- Notes ----

export const MAX_NOTE_SIZE = 1 << 20;
export const MAX_NOTE_SIGNATURES = 100;
const EM_DASH_SPACE = '\u2014 ';

/** One signature line. */
export interface NoteSignature {
  readonly name: string;
  readonly id: number;
  /** The signature bytes after the 4-byte key ID. */
  readonly sig: Uint8Array;
  /** The line without its newline. */
  readonly line: string;
}

/** A parsed note. */
export interface Note {
  /** The note text, final newline included. */
  readonly text: string;
  readonly textBytes: Uint8Array;
  readonly signatures: readonly NoteSignature[];
}

/** Parses a signed note (spec/notes.md §4). Accepts bytes or a string. */
export function parseNote(input: Uint8Array | string): Note {
  let bytes: Uint8Array;
  let s: string;
  if (typeof input === 'string') {
    if (!isWellFormed(input)) fail('note', 'the note is not valid UTF-8');
    bytes = utf8(input);
    s = input;
  } else {
    bytes = input;
  }
  if (bytes.length > MAX_NOTE_SIZE) fail('note', `the note is ${bytes.length} bytes, over the 1 MiB limit`);
  if (typeof input !== 'string') {
    const d = utf8Decode(bytes);
    if (d === null) fail('note', 'the note is not valid UTF-8');
    s = d;
  }
  for (const b of bytes) {
    if (b < 0x20 && b !== 0x0a) fail('note', `the note contains the control byte 0x${b.toString(16).padStart(2, '0')}`);
  }
  const text0 = s!;
  const sep = text0.lastIndexOf('\n\n');
  if (sep < 0) fail('note', 'the note has no blank line before its signatures');
  const text = text0.slice(0, sep + 1);
  const block = text0.slice(sep + 2);
  if (block.length === 0) fail('note', 'the note has no signature lines');
  if (!block.endsWith('\n')) fail('note', 'the note does not end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) fail('note', `the note has ${lines.length} signature lines, over the limit of ${MAX_NOTE_SIGNATURES}`);
  const signatures: NoteSignature[] = [];
  for (const [i, line] of lines.entries()) {
    const where = `signature line ${i + 1}`;
    if (!line.startsWith(EM_DASH_SPACE)) fail('note', `${where} does not start with an em dash and a space`);
    const rest = line.slice(EM_DASH_SPACE.length);
    const sp = rest.indexOf(' ');
    if (sp < 0) fail('note', `${where} has no signature after the key name`);
    const name = rest.slice(0, sp);
    const np = keyNameProblem(name);
    if (np) fail('note', `${where}: ${np}`);
    const b64 = rest.slice(sp + 1);
    const raw = b64.length > 0 ? fromBase64(b64) : null;
    if (raw === null) fail('note', `${where}: the signature is not canonical base64`);
    if (raw.length < 5) fail('note', `${where}: the signature is shorter than a key ID and one byte`);
    signatures.push({ name, id: Number(readBigEndian(raw.subarray(0, 4))), sig: raw.slice(4), line });
  }
  return { text, textBytes: utf8(text), signatures };
}

/** A key that signed a note, with its cosignature time for timestamped types. */
export interface Signer {
  readonly key: VerifierKey;
  readonly timestamp?: bigint;
}

/**
 * Verifies a parsed note with known keys (spec/notes.md §6) and returns the
 * known keys that signed it, in order of first appearance. Lines by
 * unknown keys are ignored; a line by a known key that does not verify
 * rejects the whole note; so does a note no known key signed.
 */
export function verifyNote(note: Note, keys: readonly VerifierKey[]): Signer[] {
  const signers: Signer[] = [];
  const seen = new Set<string>();
  for (const [i, line] of note.signatures.entries()) {
    const candidates = keys.filter((k) => k.name === line.name && k.id === line.id);
    if (candidates.length === 0) continue;
    const key = candidates[0]!;
    if (candidates.some((k) => k.type !== key.type || !bytesEqual(k.publicKey, key.publicKey))) {
      fail('note-signature', `signature line ${i + 1}: two different known keys have the name ${line.name} and key ID ${line.id.toString(16).padStart(8, '0')}`);
    }
    const r = key.keyType.verifyNote(key.publicKey, key.name, note, line.sig);
    if (!r.ok) fail('note-signature', `signature line ${i + 1} by ${keyLabel(key)}: ${r.reason}`);
    if (!seen.has(key.vkey)) {
      seen.add(key.vkey);
      signers.push(r.timestamp === undefined ? { key } : { key, timestamp: r.timestamp });
    }
  }
  if (signers.length === 0) fail('note-signature', 'no known key signed the note');
  return signers;
}
