// Equivocation evidence bundles and their offline verification with
// nothing but the accused key (spec/evidence.md).

import { compareBytes, concat, fromBase64, toBase64, toHex, utf8 } from './bytes.js';
import { type Checkpoint, type LogTime, parseCheckpointBody, verifyCheckpoint } from './checkpoint.js';
import { fail, VerifyError } from './errors.js';
import { type Hash, sha256 } from './hash.js';
import { parseJsonStrict } from './json.js';
import { TYPE_COSIGNATURE_V1, TYPE_ED25519 } from './keytypes.js';
import { consistencyRoots } from './merkle.js';
import { parseNote, type VerifierKey, verifyNote } from './note.js';
import { INDEX_EVIDENCE_FORMAT, MAX_INDEX_EVIDENCE_SIZE, parseIndexEvidence, type VerifiedIndexEvidence, verifyIndexEvidence } from './indexevidence.js';

export const EVIDENCE_FORMAT = 'provlog-evidence/v1';
export const MAX_EVIDENCE_SIZE = 256 * 1024;
export const EVIDENCE_KINDS = ['same-size-different-roots', 'inconsistent-prefix', 'timestamp-decreased'] as const;

export interface Evidence {
  readonly format: string;
  readonly kind: (typeof EVIDENCE_KINDS)[number];
  readonly signer: string;
  readonly origin: string;
  readonly smaller: string;
  readonly larger: string;
  readonly proof: readonly string[];
}

function bad(msg: string): never {
  return fail('evidence', msg);
}

/** Parses an evidence bundle (JSON, at most 256 KiB, no unknown or duplicate fields). */
export function parseEvidence(input: string | Uint8Array): Evidence {
  const b = typeof input === 'string' ? utf8(input) : input;
  if (b.length > MAX_EVIDENCE_SIZE) bad(`the bundle is ${b.length} bytes, over the limit of ${MAX_EVIDENCE_SIZE}`);
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return bad('the bundle is not UTF-8');
  }
  const j = parseJsonStrict(text, 'evidence');
  if (j === null || typeof j !== 'object' || Array.isArray(j)) return bad('the bundle is not a JSON object');
  const fields = ['format', 'kind', 'signer', 'origin', 'smaller', 'larger', 'proof'];
  for (const k of Object.keys(j)) if (!fields.includes(k)) bad(`unknown field "${k}"`);
  // Every field but "proof" is required; a missing "proof" is the empty list.
  for (const k of fields.slice(0, 6)) if (!(k in j)) bad(`missing field "${k}"`);
  for (const k of fields.slice(0, 6)) if (typeof j[k] !== 'string') bad(`"${k}" must be a string`);
  const proof = 'proof' in j ? j.proof : [];
  if (!Array.isArray(proof) || proof.some((p) => typeof p !== 'string')) return bad('"proof" must be an array of strings');
  if (!(EVIDENCE_KINDS as readonly string[]).includes(j.kind as string)) bad(`unknown kind ${JSON.stringify(j.kind)}`);
  const ev = { format: j.format, kind: j.kind, signer: j.signer, origin: j.origin, smaller: j.smaller, larger: j.larger, proof } as Evidence;
  if (ev.format !== EVIDENCE_FORMAT) bad(`format ${JSON.stringify(ev.format)} is not ${EVIDENCE_FORMAT}`);
  return ev;
}

function body(note: string, key: VerifierKey, which: string): { checkpoint: Checkpoint; logTime?: LogTime } {
  try {
    if (key.type === TYPE_ED25519) return verifyCheckpoint(note, key);
    if (key.type === TYPE_COSIGNATURE_V1) {
      const n = parseNote(note);
      verifyNote(n, [key]);
      return { checkpoint: parseCheckpointBody(n.text) };
    }
    return bad(`key type ${key.keyType.name} cannot be accused`);
  } catch (e) {
    if (e instanceof VerifyError && e.check !== 'evidence') fail('evidence', `the ${which} checkpoint: ${e.message}`);
    throw e;
  }
}

export interface VerifiedEvidence {
  readonly kind: Evidence['kind'];
  readonly smaller: Checkpoint;
  readonly larger: Checkpoint;
  /** For inconsistent-prefix: the root the larger tree implies for the smaller size. */
  readonly impliedRoot?: Hash;
}

/** Verifies a bundle with the accused key alone (spec/evidence.md "Verification"). */
export function verifyEvidence(ev: Evidence, key: VerifierKey): VerifiedEvidence {
  if (ev.format !== EVIDENCE_FORMAT) bad('wrong format');
  if (ev.signer !== key.vkey) bad(`the bundle accuses ${ev.signer}, not ${key.vkey}`);
  const small = body(ev.smaller, key, 'smaller');
  const large = body(ev.larger, key, 'larger');
  const smaller = small.checkpoint;
  const larger = large.checkpoint;
  if (smaller.origin !== ev.origin || larger.origin !== ev.origin) bad('the checkpoints do not both have the bundle\'s origin');
  if (ev.proof.length > 65) bad('more than 65 proof hashes');
  const proof = ev.proof.map((p, i) => {
    const h = fromBase64(p);
    if (h === null || h.length !== 32) bad(`proof element ${i} is not base64 of a 32-byte hash`);
    return h as Uint8Array;
  });
  if (ev.kind === 'same-size-different-roots') {
    if (smaller.size !== larger.size) bad('not contradictory: the sizes differ');
    if (compareBytes(smaller.root, larger.root) === 0) bad('not contradictory: the roots are equal');
    if (proof.length !== 0) bad('same-size evidence carries no proof');
    return { kind: ev.kind, smaller, larger };
  }
  if (ev.kind === 'timestamp-decreased') {
    if (key.type !== TYPE_ED25519) bad('only a log key signs the log time; a witness does not vouch for it');
    if (!(smaller.size < larger.size)) bad('not contradictory: the smaller checkpoint must have fewer leaves');
    const a = small.logTime;
    const b = large.logTime;
    if (!a || !b) bad('not contradictory: both checkpoints need a log time');
    // A timestamp cosignature states whole seconds: compare seconds when
    // either time is one; two legacy lines compare milliseconds.
    const secs = a.source === 'cosignature' || b.source === 'cosignature';
    const [ta, tb] = secs ? [a.ms / 1000n, b.ms / 1000n] : [a.ms, b.ms];
    if (!(ta > tb)) bad('not contradictory: the log time does not decrease');
    if (proof.length !== 0) bad('timestamp evidence carries no proof');
    return { kind: ev.kind, smaller, larger };
  }
  if (!(smaller.size > 0n && smaller.size < larger.size)) bad('not contradictory: the smaller size must be between 1 and the larger size');
  let roots;
  try {
    roots = consistencyRoots(smaller.size, larger.size, proof, { seedInProof: true });
  } catch (e) {
    if (e instanceof VerifyError) bad(`proof: ${e.message}`);
    throw e;
  }
  if (compareBytes(roots.newRoot, larger.root) !== 0) bad('proof: the proof does not lead to the larger checkpoint\'s root');
  if (compareBytes(roots.oldRoot, smaller.root) === 0) bad('not contradictory: the larger tree implies the smaller root');
  return { kind: ev.kind, smaller, larger, impliedRoot: roots.oldRoot };
}

/** The bundle id (`/v1/evidence/<id>`, spec/evidence.md "Bundle id"): names
 * what the bundle proves (kind, signer, origin, both sizes and roots), not
 * its bytes, so padded or re-signed copies of one contradiction share it. */
export function evidenceId(ev: Evidence): string {
  const body = (n: string): Checkpoint | undefined => {
    try {
      return parseCheckpointBody(parseNote(utf8(n)).text);
    } catch {
      return undefined;
    }
  };
  let a = body(ev.smaller);
  let b = body(ev.larger);
  if (a === undefined || b === undefined) {
    const parts = [ev.kind, ev.signer, ev.origin, ev.smaller, ev.larger].map((p) => concat(utf8(p), Uint8Array.of(0)));
    return toHex(sha256(concat(...parts)));
  }
  if (ev.kind === 'same-size-different-roots' && compareBytes(b.root, a.root) < 0) [a, b] = [b, a];
  const text =
    `provlog-evidence-id/v1\n${ev.kind}\n${ev.signer}\n${ev.origin}\n` +
    `${a.size} ${toBase64(a.root)}\n${b.size} ${toBase64(b.root)}\n`;
  return toHex(sha256(utf8(text)));
}

/**
 * Verifies either evidence format with the accused key, dispatching on
 * `format`: provlog-evidence/v1 (this module) or provlog-index-evidence/v1
 * (spec/lookup.md §7.2).
 */
export function verifyAnyEvidence(input: string | Uint8Array, key: VerifierKey): { format: typeof EVIDENCE_FORMAT; verified: VerifiedEvidence } | { format: typeof INDEX_EVIDENCE_FORMAT; verified: VerifiedIndexEvidence } {
  const b = typeof input === 'string' ? utf8(input) : input;
  if (b.length > MAX_INDEX_EVIDENCE_SIZE) bad(`the bundle is ${b.length} bytes, over the limit of ${MAX_INDEX_EVIDENCE_SIZE}`);
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return bad('the bundle is not UTF-8');
  }
  const j = parseJsonStrict(text, 'evidence', { bigInts: true });
  const format = j !== null && typeof j === 'object' && !Array.isArray(j) ? (j as { format?: unknown }).format : undefined;
  if (format === INDEX_EVIDENCE_FORMAT) return { format: INDEX_EVIDENCE_FORMAT, verified: verifyIndexEvidence(parseIndexEvidence(text), key) };
  return { format: EVIDENCE_FORMAT, verified: verifyEvidence(parseEvidence(text), key) };
}
