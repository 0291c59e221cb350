// Index evidence (spec/lookup.md §7.2, `provlog-index-evidence/v1`): a
// verified lookup that contradicts an entry of the very tree it is shown
// in, or an index-commit at the wrong index, checkable offline with the
// log's key alone.

import { fromBase64, utf8 } from './bytes.js';
import { verifyCheckpoint } from './checkpoint.js';
import { fail, VerifyError } from './errors.js';
import { type Hash, leafHash } from './hash.js';
import { type Json, parseJsonStrict } from './json.js';
import { TYPE_ED25519 } from './keytypes.js';
import { decodeLookupProof, verifyLookupIndex } from './lookup.js';
import { verifyInclusion } from './merkle.js';
import type { VerifierKey } from './note.js';
import { singleLogPolicy } from './policy.js';
import { decodeIndexCommit, entryCarriesKey, type IndexCommit, type IndexKey } from './vindex.js';

export const INDEX_EVIDENCE_FORMAT = 'provlog-index-evidence/v1';
export const MAX_INDEX_EVIDENCE_SIZE = 1 << 20;
export const INDEX_EVIDENCE_KINDS = ['index-omission', 'index-false-entry', 'index-commit-size'] as const;
const MAX_PROOF = 64;

export interface IndexEvidence {
  readonly format: string;
  readonly kind: (typeof INDEX_EVIDENCE_KINDS)[number];
  readonly signer: string;
  /** Base64 lookup proof (omission, false-entry). */
  readonly lookup?: string;
  /** Signed checkpoint note (commit-size). */
  readonly checkpoint?: string;
  readonly index: bigint;
  /** Base64 entry. */
  readonly entry: string;
  readonly proof: readonly string[];
}

function bad(msg: string): never {
  return fail('evidence', msg);
}

/**
 * Parses index evidence JSON (at most 1 MiB; unknown and duplicate fields
 * rejected). `format`, `kind`, `signer`, `index`, `entry` and `proof` are
 * required; `lookup` exactly for omission and false-entry, `checkpoint`
 * exactly for commit-size.
 */
export function parseIndexEvidence(input: string | Uint8Array): IndexEvidence {
  const b = typeof input === 'string' ? utf8(input) : input;
  if (b.length > MAX_INDEX_EVIDENCE_SIZE) bad(`the bundle is ${b.length} bytes, over ${MAX_INDEX_EVIDENCE_SIZE}`);
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return bad('the bundle is not UTF-8');
  }
  const j = parseJsonStrict(text, 'evidence', { bigInts: true });
  if (j === null || typeof j !== 'object' || Array.isArray(j)) return bad('the bundle is not a JSON object');
  const o = j as { [k: string]: Json };
  const fields = ['format', 'kind', 'signer', 'lookup', 'checkpoint', 'index', 'entry', 'proof'];
  for (const k of Object.keys(o)) if (!fields.includes(k)) bad(`unknown field "${k}"`);
  for (const k of ['format', 'kind', 'signer', 'entry']) if (typeof o[k] !== 'string') bad(`"${k}" must be a string`);
  if (o.format !== INDEX_EVIDENCE_FORMAT) bad(`format ${JSON.stringify(o.format)} is not ${INDEX_EVIDENCE_FORMAT}`);
  if (!(INDEX_EVIDENCE_KINDS as readonly string[]).includes(o.kind as string)) bad(`unknown kind ${JSON.stringify(o.kind)}`);
  if (typeof o.index !== 'bigint' || o.index < 0n || o.index >= 1n << 64n) bad('"index" must be an unsigned 64-bit integer');
  if (!Array.isArray(o.proof) || o.proof.some((p) => typeof p !== 'string')) bad('"proof" must be an array of strings');
  const kind = o.kind as IndexEvidence['kind'];
  const lookupKind = kind !== 'index-commit-size';
  if (lookupKind && typeof o.lookup !== 'string') bad(`${kind} evidence needs "lookup"`);
  if (lookupKind && 'checkpoint' in o) bad(`${kind} evidence carries its checkpoint inside "lookup"`);
  if (!lookupKind && typeof o.checkpoint !== 'string') bad('index-commit-size evidence needs "checkpoint"');
  if (!lookupKind && 'lookup' in o) bad('index-commit-size evidence carries no "lookup"');
  return {
    format: o.format as string,
    kind,
    signer: o.signer as string,
    ...(lookupKind ? { lookup: o.lookup as string } : { checkpoint: o.checkpoint as string }),
    index: o.index,
    entry: o.entry as string,
    proof: o.proof as string[],
  };
}

export interface VerifiedIndexEvidence {
  readonly kind: IndexEvidence['kind'];
  readonly index: bigint;
  /** The key the lookup answered for (omission, false-entry). */
  readonly key?: IndexKey;
  /** The commit the lookup is against, or the misplaced commit (commit-size). */
  readonly commit: IndexCommit;
  readonly checkpointSize: bigint;
}

function wrap<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof VerifyError && e.check !== 'evidence') fail('evidence', `${what}: ${e.message}`);
    throw e;
  }
}

/** Verifies index evidence with the accused log's Ed25519 key alone (spec/lookup.md §7.2). */
export function verifyIndexEvidence(ev: IndexEvidence, key: VerifierKey): VerifiedIndexEvidence {
  if (ev.format !== INDEX_EVIDENCE_FORMAT) bad('wrong format');
  if (ev.signer !== key.vkey) bad(`the bundle accuses ${ev.signer}, not ${key.vkey}`);
  if (key.type !== TYPE_ED25519) bad('index evidence accuses an Ed25519 (0x01) log key');
  if (ev.proof.length > MAX_PROOF) bad(`more than ${MAX_PROOF} proof hashes`);
  const proof = ev.proof.map((p, i): Hash => {
    const h = fromBase64(p);
    return h !== null && h.length === 32 ? h : bad(`proof element ${i} is not base64 of a 32-byte hash`);
  });
  const entry = fromBase64(ev.entry) ?? bad('"entry" is not canonical base64');
  const included = (size: bigint, root: Hash): void => wrap(`entry ${ev.index}`, () => verifyInclusion(leafHash(entry), ev.index, size, proof, root));
  if (ev.kind === 'index-commit-size') {
    const cp = wrap('the checkpoint', () => verifyCheckpoint(ev.checkpoint!, key)).checkpoint;
    included(cp.size, cp.root);
    let commit: IndexCommit;
    try {
      commit = decodeIndexCommit(entry);
    } catch (e) {
      if (e instanceof VerifyError) bad(`not contradictory: the entry is not an index-commit (${e.message})`);
      throw e;
    }
    if (commit.size === ev.index) bad('not contradictory: the index-commit sits at the index equal to its size');
    return { kind: ev.kind, index: ev.index, commit, checkpointSize: cp.size };
  }
  const lb = fromBase64(ev.lookup!) ?? bad('"lookup" is not canonical base64');
  const v = wrap('the lookup', () => verifyLookupIndex(decodeLookupProof(lb), singleLogPolicy(key)));
  included(v.checkpointSize, v.checkpoint.checkpoint.root);
  const carries = entryCarriesKey(entry, v.key);
  const listed = v.indexes.includes(ev.index);
  if (ev.kind === 'index-omission') {
    if (!(ev.index < v.commit.size)) bad(`not contradictory: entry ${ev.index} is not covered by the commit (size ${v.commit.size})`);
    // A tail speaks only for the indexes after its first one.
    const speaks = v.outcome === 'absent' || v.from === 0n || v.indexes[0]! < ev.index;
    if (!(carries && !listed && speaks)) bad('not contradictory: the lookup and the entry agree');
  } else if (!(listed && !carries)) {
    bad('not contradictory: the entry is not listed, or it carries the key');
  }
  return { kind: ev.kind, index: ev.index, key: v.key, commit: v.commit, checkpointSize: v.checkpointSize };
}
